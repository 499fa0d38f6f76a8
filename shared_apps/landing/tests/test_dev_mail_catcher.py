"""The development mail catcher (/dev/mail/) is shown only to requests from this machine."""

import pytest

from conftest import host_client

CAUGHT = b"""From: Rassylka <noreply@localhost>
To: someone@example.com
Subject: Your sign-up code
Date: Mon, 30 Nov 2026 12:00:00 +0000

Your code: ABCD-EFGH
"""


@pytest.fixture
def mail_catcher(settings, tmp_path, db):
    settings.DEBUG = True
    settings.MAIL_CATCHER_DIR = str(tmp_path)
    settings.PUBLIC_SCHEMA_URLCONF = "shared_apps.landing.tests.urls_with_dev"
    (tmp_path / "20261130-120000-1.eml").write_bytes(CAUGHT)
    return tmp_path


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_a_browser_on_this_machine_sees_the_caught_mail(mail_catcher, address):
    client = host_client("localhost")

    listing = client.get("/dev/mail/", REMOTE_ADDR=address)
    message = client.get("/dev/mail/20261130-120000-1.eml/", REMOTE_ADDR=address)

    assert listing.status_code == 200 and "Your sign-up code" in listing.content.decode()
    assert message.status_code == 200 and "ABCD-EFGH" in message.content.decode()


@pytest.mark.parametrize("host", ["localhost", "localhost:8000"])
@pytest.mark.parametrize("address", ["192.168.1.20", "203.0.113.9", "2001:db8::1", "::ffff:192.168.1.20", "", "junk"])
def test_a_request_from_elsewhere_gets_404_whatever_the_host_header(mail_catcher, host, address):
    client = host_client(host)

    listing = client.get("/dev/mail/", REMOTE_ADDR=address)
    message = client.get("/dev/mail/20261130-120000-1.eml/", REMOTE_ADDR=address)

    assert listing.status_code == 404 and message.status_code == 404
    assert "ABCD-EFGH" not in listing.content.decode() + message.content.decode()


def test_the_menu_links_the_mail_catcher_only_for_this_machine(mail_catcher):
    client = host_client("localhost")

    assert "/dev/mail/" in client.get("/", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "/dev/mail/" not in client.get("/", REMOTE_ADDR="192.168.1.20").content.decode()

"""A person signs up in a real browser, reads the code from a real email, and opens a new workspace."""

import email
import email.policy
import re
import socket
import time
import uuid

import pytest

from saas import mailcatcher

pytestmark = pytest.mark.browser

PASSWORD = "a-long-unusual-passphrase-42"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings, tmp_path):
    """An aiosmtpd server on a free port; the live server sends real SMTP to it."""
    port = free_port()
    controller = mailcatcher.start(tmp_path, port=port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield tmp_path
    controller.stop()


def wait_for_mail_to(inbox, address, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(inbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address in message["To"]:
                return message.get_body(preferencelist=("plain",)).get_content()
        time.sleep(0.1)
    raise AssertionError(f"no email to {address} within {timeout} s")


# django_db only makes pytest-django set up the test database when this file runs alone;
# the browser talks to the live server, whose writes are committed.
@pytest.mark.django_db
def test_sign_up_verify_create_a_workspace_and_sign_out(live_site, page, smtp_inbox):
    suffix = uuid.uuid4().hex[:8]
    address, slug = f"journey-{suffix}@example.com", f"journey-{suffix}"

    page.goto(live_site.url("/accounts/signup/"))
    page.fill("#id_email", address)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Зарегистрируйтесь").click()
    page.wait_for_url("**/accounts/confirm-email/")

    body = wait_for_mail_to(smtp_inbox, address)
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", body, re.MULTILINE).group(1)
    page.fill("#id_code", code)
    page.get_by_role("button", name="Подтвердить").click()
    page.wait_for_url("**/workspaces/")
    assert page.get_by_test_id("no-workspaces").is_visible()

    page.get_by_test_id("new-workspace").click()
    # The suggestion script runs at the end of the page: filling the name before it loaded suggested nothing.
    page.wait_for_url("**/workspaces/new/", wait_until="load")
    page.fill("#id_name", f"Journey {suffix}")
    assert page.input_value("#id_slug") == slug  # suggested from the name
    page.get_by_role("button", name="Создать", exact=True).click()

    page.wait_for_url(live_site.workspace_url(slug, "/"))
    assert page.locator("nav .navbar-brand").inner_text() == f"Journey {suffix}"
    assert address in page.get_by_test_id("account-menu").inner_text()

    page.get_by_test_id("account-menu").click()
    page.get_by_role("link", name="Выйти").click()
    page.get_by_role("button", name="Выйти везде").click()

    page.wait_for_url(live_site.url("/"))
    assert page.get_by_role("link", name="Войти").first.is_visible()
    page.goto(live_site.workspace_url(slug, "/"))
    assert page.url.startswith(live_site.url("/accounts/login/"))


def test_member_opening_a_workspace_address_signs_in_and_lands_on_it(live_site, page):
    from django.contrib.auth import get_user_model

    from shared_apps.accounts.services import mark_email_verified
    from tenants.access import set_member_role
    from tenants.models import Workspace

    # Committed (no test transaction), so the live server sees this member.
    user = get_user_model().objects.create_user(
        email=f"returning-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD
    )
    mark_email_verified(user)
    set_member_role(user, Workspace.objects.get(slug="acme"), "viewer")

    page.goto(live_site.workspace_url("acme", "/"))
    page.wait_for_url(live_site.url("/accounts/login/") + "**")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Войти").last.click()

    page.wait_for_url(live_site.workspace_url("acme", "/"))
    assert page.locator("nav .navbar-brand").inner_text() == "Acme"
    assert "наблюдатель" in page.get_by_test_id("account-menu").inner_text()

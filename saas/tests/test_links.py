"""Every absolute link keeps the site's port: built from SITE_URL, never from the request."""

import re
import subprocess
import sys

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from conftest import host_client
from saas.links import absolute_url, parse_site_url


@pytest.fixture
def site_on_port(settings):
    settings.SITE_URL = "http://localhost:8123"


def test_absolute_url_takes_scheme_and_port_from_site_url_and_any_host(settings):
    settings.SITE_URL = "http://localhost:8123"
    assert absolute_url("/blog/") == "http://localhost:8123/blog/"
    assert absolute_url("/u/t/", host="acme.localhost") == "http://acme.localhost:8123/u/t/"

    settings.SITE_URL = "https://localhost:443"
    assert absolute_url("/", host="acme.localhost") == "https://acme.localhost/"


@pytest.mark.parametrize(
    "value, reason",
    [
        ("ftp://localhost", "http(s)://localhost[:port]"),
        ("http://localhost/sub/", "http(s)://localhost[:port]"),
        ("http://evil.example:8000", "must be BASE_DOMAIN"),
        ("http://localhost:eighty", "not a number"),
    ],
)
def test_a_malformed_site_url_is_a_clear_configuration_error(value, reason):
    with pytest.raises(ImproperlyConfigured, match=re.escape(reason)):
        parse_site_url(value, "localhost")


def settings_value(name, **env):
    """A setting as a fresh process with this environment (DEBUG on) computes it."""
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    clean = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "saas.settings", "DEBUG": "1", **env}
    result = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_site_url_defaults_to_runservers_port_in_development_and_honours_the_older_variables():
    assert settings_value("SITE_URL") == "http://localhost:8000"
    assert settings_value("SITE_URL", SITE_URL_PORT="8001") == "http://localhost:8001"
    assert settings_value("SITE_URL", SITE_URL="http://localhost:9000") == "http://localhost:9000"


def test_password_reset_email_links_to_the_site_url_port(
    public_client, user_factory, site_on_port, django_capture_on_commit_callbacks
):
    user_factory(email="forgetful@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})

    assert "http://localhost:8123/accounts/password/reset/key/" in mail.outbox[-1].body


def test_invitation_email_links_to_the_site_url_port(
    workspace, member_factory, site_on_port, django_capture_on_commit_callbacks
):
    owner = member_factory(workspace, "owner")
    client = host_client(workspace.host, owner)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/workspace/members/invite/", {"email": "colleague@example.com", "role": "viewer"})

    assert "http://localhost:8123/invitations/" in mail.outbox[-1].body


def test_message_preview_unsubscribe_link_keeps_the_port(workspace, member_factory, site_on_port):
    from django_tenants.utils import schema_context

    from tenant_apps.campaigns.models import Message

    with schema_context(workspace.schema_name):
        message = Message.objects.create(subject="Hi", body_text="Bye: {{ unsubscribe_url }}")
    client = host_client(workspace.host, member_factory(workspace, "viewer"))

    response = client.get(f"/messages/{message.pk}/")

    assert response.context["preview"]["text"] == "Bye: http://acme.localhost:8123/u/sample/"


def test_unsubscribe_links_in_sent_mailings_keep_the_port(workspace, site_on_port):
    from tenant_apps.delivery.unsubscribe import UnsubscribeLinks, unsubscribe_url

    assert UnsubscribeLinks(workspace.host, workspace.schema_name).url(7).startswith("http://acme.localhost:8123/u/")
    assert unsubscribe_url(workspace.host, workspace.schema_name, 7).startswith("http://acme.localhost:8123/u/")


def test_sign_in_hand_off_goes_to_the_workspace_on_the_site_url_port(
    public_client, workspace, member_factory, site_on_port
):
    public_client.force_login(member_factory(workspace, "viewer"))

    response = public_client.get(f"/open/{workspace.slug}/")

    assert response["Location"].startswith("http://acme.localhost:8123/handoff/?token=")


def test_anonymous_visitor_of_a_workspace_is_sent_to_sign_in_on_the_site_url_port(workspace_client, site_on_port):
    response = workspace_client.get("/")

    assert response["Location"].startswith("http://localhost:8123/accounts/login/?next=")


def test_the_404_pages_home_link_keeps_the_port(public_client, site_on_port):
    response = public_client.get("/no-such-page/")

    assert response.status_code == 404
    assert 'href="http://localhost:8123/"' in response.content.decode()

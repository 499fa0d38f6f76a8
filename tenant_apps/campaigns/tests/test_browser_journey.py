"""An editor writes a message and schedules a mailing for chosen clients, in a real browser."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from saas.tests.test_browser_smoke import signed_in_cookie
from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenants.access import set_member_role
from tenants.models import Workspace

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


@pytest.fixture
def journey():
    """A fresh editor of the journeys workspace and two committed clients; everything made is removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    user = get_user_model().objects.create_user(email=f"journey-{tag}@example.com", full_name="Journey Editor")
    set_member_role(user, Workspace.objects.get(slug="journeys"), "editor")
    with schema_context("ws_journeys"):
        clients = [
            Client.objects.create(email=f"olga-{tag}@example.com", full_name=f"Olga {tag}"),
            Client.objects.create(email=f"ivan-{tag}@example.com", full_name=f"Ivan {tag}"),
        ]
    yield {"tag": tag, "user": user, "clients": clients}
    with schema_context("ws_journeys"):
        Mailing.objects.filter(name__contains=tag).delete()
        Message.objects.filter(subject__contains=tag).delete()
        Client.objects.filter(email__contains=tag).delete()
    user.delete()


def test_editor_creates_a_message_and_a_mailing_and_sees_them_listed(live_site, page, journey):
    tag = journey["tag"]
    page.context.add_cookies([signed_in_cookie(journey["user"], "journeys.localhost")])

    # A message, with a placeholder, previewed for the editor.
    page.goto(live_site.workspace_url("journeys", "/messages/new/"))
    page.fill("#id_subject", f"Hello {{{{ name }}}} {tag}")
    page.fill("#id_body_text", "Dear {{ name }}, our news. Unsubscribe: {{ unsubscribe_url }}")
    page.click("form button[type=submit]")
    assert page.get_by_test_id("preview-subject").inner_text() == f"Hello Journey Editor {tag}"
    page.get_by_role("link", name="Сообщения").first.click()
    assert f"Hello {{{{ name }}}} {tag}" in page.get_by_test_id("message-list").inner_text()

    # A mailing for one chosen client, found by typing part of the name.
    page.goto(live_site.workspace_url("journeys", "/mailings/new/"))
    page.fill("#id_name", f"Journey mailing {tag}")
    page.select_option("#id_message", label=f"Hello {{{{ name }}}} {tag}")
    page.check("input[name=audience][value=selected]")
    page.fill("#client-search", f"Olga {tag}")
    result = page.get_by_test_id("client-results").get_by_role("button", name=f"olga-{tag}@example.com")
    result.click()
    assert page.get_by_test_id("chosen-count").inner_text() == "1"
    page.fill("#id_start_at", "2030-03-01T10:00")
    page.fill("#id_end_at", "2030-03-01T18:00")
    page.select_option("#id_periodicity", "weekly")
    page.click("form button[type=submit]")

    assert f"Journey mailing {tag}" in page.locator("h1").inner_text()
    assert f"olga-{tag}@example.com" in page.content()
    assert f"ivan-{tag}@example.com" not in page.content()

    # Paused from its page.
    page.get_by_role("button", name="Приостановить").click()
    assert "приостановлена" in page.locator("h1").inner_text()
    assert page.get_by_role("button", name="Возобновить").is_visible()
    page.get_by_role("link", name="Рассылки").first.click()
    listing = page.get_by_test_id("mailing-list").inner_text()
    assert f"Journey mailing {tag}" in listing
    assert "создана" in listing
    with schema_context("ws_journeys"):
        mailing = Mailing.objects.get(name=f"Journey mailing {tag}")
        assert [c.email for c in mailing.clients.all()] == [f"olga-{tag}@example.com"]
        assert mailing.periodicity == "weekly"
        assert mailing.is_paused is True

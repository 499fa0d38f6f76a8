"""A recipient follows the unsubscribe link of an email in a real browser."""

import pytest
from django_tenants.utils import schema_context

from saas.factories import make_client, unique_email
from tenant_apps.audience.models import Client
from tenant_apps.campaigns.rendering import render_for_client
from tenant_apps.delivery.unsubscribe import unsubscribe_url

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


def test_recipient_opens_the_link_from_an_email_and_confirms(live_site, page):
    with schema_context("ws_journeys"):
        client = make_client(email=unique_email("reader"))
    url = unsubscribe_url("journeys.localhost", "ws_journeys", client.pk)
    _, text, _ = render_for_client(
        "News", "Bye: {{ unsubscribe_url }}", "", name="", email=client.email, unsubscribe_url=url
    )
    link = text.removeprefix("Bye: ")
    assert link.startswith(live_site.workspace_url("journeys", "/u/"))  # SITE_URL carries the live server's port

    page.goto(link)

    assert page.get_by_test_id("confirm-unsubscribe").inner_text() == "Отписаться от этих писем?"
    assert client.email in page.content()
    with schema_context("ws_journeys"):
        assert Client.objects.get(pk=client.pk).is_subscribed  # opening the link changed nothing

    page.get_by_role("button", name="Отписаться").click()

    assert page.get_by_test_id("unsubscribed").inner_text() == "Вы отписались"
    with schema_context("ws_journeys"):
        client.refresh_from_db()
    assert client.is_subscribed is False and client.unsubscribed_at is not None

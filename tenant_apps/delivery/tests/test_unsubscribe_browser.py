"""A recipient follows the unsubscribe link of an email in a real browser."""

import pytest
from django_tenants.utils import schema_context

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.rendering import render_for_client
from tenant_apps.delivery.unsubscribe import unsubscribe_url

from .report_data import make_client, unique_email

pytestmark = pytest.mark.browser


def test_recipient_opens_the_link_from_an_email_and_confirms(live_site, page):
    with schema_context("ws_acme"):
        client = make_client(email=unique_email("reader"))
    url = unsubscribe_url("acme.localhost", "ws_acme", client.pk)
    _, text, _ = render_for_client(
        "News", "Bye: {{ unsubscribe_url }}", "", name="", email=client.email, unsubscribe_url=url
    )
    link = text.removeprefix("Bye: ")
    assert link.startswith(live_site.workspace_url("acme", "/u/"))  # SITE_URL carries the live server's port

    page.goto(link)

    assert page.get_by_test_id("confirm-unsubscribe").inner_text() == "Отписаться от этих писем?"
    assert client.email in page.content()
    with schema_context("ws_acme"):
        assert Client.objects.get(pk=client.pk).is_subscribed  # opening the link changed nothing

    page.get_by_role("button", name="Отписаться").click()

    assert page.get_by_test_id("unsubscribed").inner_text() == "Вы отписались"
    with schema_context("ws_acme"):
        client.refresh_from_db()
    assert client.is_subscribed is False and client.unsubscribed_at is not None

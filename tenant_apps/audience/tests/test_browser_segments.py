"""A member builds a segment in a real browser and watches its live count and preview."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from saas.tests.test_browser_smoke import signed_in_cookie
from tenant_apps.audience.models import Client, Segment
from tenants.access import set_member_role
from tenants.models import Workspace

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


@pytest.fixture
def editor_page(live_site, page):
    user, _ = get_user_model().objects.get_or_create(email="segments-journey@example.com")
    set_member_role(user, Workspace.objects.get(slug="journeys"), "editor")
    page.context.add_cookies([signed_in_cookie(user, "journeys.localhost")])
    return page


@pytest.fixture
def tag():
    marker = f"s{uuid.uuid4().hex[:8]}"
    with schema_context("ws_journeys"):
        Client.objects.create(email=f"one-{marker}@example.com", full_name="Первый")
        Client.objects.create(email=f"two-{marker}@example.com", is_subscribed=False)
    yield marker
    with schema_context("ws_journeys"):
        Client.objects.filter(email__contains=marker).delete()
        Segment.objects.filter(name__contains=marker).delete()


def test_editor_builds_a_segment_with_a_live_count_and_saves_it(live_site, editor_page, tag):
    page = editor_page
    page.goto(live_site.workspace_url("journeys", "/clients/segments/new/"))
    row = page.locator("[data-condition]").first
    row.get_by_label("subject").select_option("email")
    row.get_by_label("operator").select_option("contains")
    row.get_by_label("value").fill(tag)

    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    expect(page.get_by_test_id("segment-preview")).to_contain_text(f"one-{tag}@example.com")
    expect(page.get_by_test_id("segment-preview")).to_contain_text("отписан")
    page.get_by_label("Название").fill(f"Сегмент {tag}")
    page.get_by_role("button", name="Сохранить").click()

    expect(page.get_by_role("heading", name=f"Сегмент {tag}")).to_be_visible()
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    with schema_context("ws_journeys"):
        segment = Segment.objects.get(name=f"Сегмент {tag}")
    assert segment.definition == {"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": tag}]}


def test_editor_counts_clients_added_within_the_last_days_and_more_than_days_ago(live_site, editor_page, tag):
    page = editor_page
    page.goto(live_site.workspace_url("journeys", "/clients/segments/new/"))
    count = page.get_by_test_id("segment-count")
    email = page.locator("[data-condition]").first
    email.get_by_label("subject").select_option("email")
    email.get_by_label("operator").select_option("contains")
    email.get_by_label("value").fill(tag)
    page.get_by_role("button", name="Добавить условие").click()
    added = page.locator("[data-condition]").nth(1)
    added.get_by_label("subject").select_option("added")

    added.get_by_label("operator").select_option("within_last_days")
    expect(added).to_contain_text("дн.")
    added.locator("input[type=number]").fill("7")
    expect(count).to_have_text("2")
    added.get_by_label("operator").select_option("more_than_days_ago")
    expect(added).to_contain_text("дн. назад")
    added.locator("input[type=number]").fill("7")
    expect(count).to_have_text("0")
    added.locator("input[type=number]").fill("0")
    expect(page.get_by_test_id("segment-errors")).to_contain_text("целое число дней от 1 до 3650")

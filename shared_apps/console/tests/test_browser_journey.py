"""A manager, in a real browser, disables a mailing and blocks a user."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from saas.tests.test_browser_smoke import signed_in_cookie

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


@pytest.fixture
def committed():
    """Users and a mailing in the journeys workspace, committed for the live server; removed afterwards."""
    from saas.factories import index_mailing_for_console
    from shared_apps.console.models import MailingIndex
    from tenant_apps.campaigns.models import Mailing, Message
    from tenants.access import ensure_managers_group
    from tenants.models import ScheduleEntry, Workspace

    tag = uuid.uuid4().hex[:8]
    manager = get_user_model().objects.create_user(email=f"console-manager-{tag}@example.com")
    manager.groups.add(ensure_managers_group())
    victim = get_user_model().objects.create_user(email=f"console-victim-{tag}@example.com")
    journeys = Workspace.objects.get(slug="journeys")
    start = timezone.now() + timedelta(days=30)
    with schema_context(journeys.schema_name):
        message = Message.objects.create(subject="Journey", body_text="Hello")
        mailing = Mailing.objects.create(
            name=f"Journey mailing {tag}", message=message, start_at=start, end_at=start + timedelta(days=1)
        )
        index_mailing_for_console(mailing)  # as the services saving a mailing do
    yield {"manager": manager, "victim": victim, "mailing": mailing, "journeys": journeys}
    with schema_context(journeys.schema_name):
        Mailing.objects.filter(pk=mailing.pk).delete()
        Message.objects.filter(pk=message.pk).delete()
    ScheduleEntry.objects.filter(workspace=journeys, mailing_id=mailing.pk).delete()
    MailingIndex.objects.filter(workspace=journeys, mailing_id=mailing.pk).delete()
    get_user_model().objects.filter(pk__in=[manager.pk, victim.pk]).delete()


def test_manager_disables_a_mailing_and_blocks_a_user(live_site, page, browser, committed):
    from tenant_apps.campaigns.models import Mailing

    manager, victim, mailing = committed["manager"], committed["victim"], committed["mailing"]
    victim_context = browser.new_context(locale="ru-RU")
    victim_context.add_cookies([signed_in_cookie(victim, "localhost")])
    victim_page = victim_context.new_page()
    victim_page.goto(live_site.url("/"))
    assert victim.email in victim_page.locator("nav").inner_text()

    page.context.add_cookies([signed_in_cookie(manager, "localhost")])
    page.goto(live_site.url("/"))
    page.get_by_test_id("nav-console").click()
    expect(page.get_by_test_id("workspace-journeys")).to_be_visible()  # waits for the navigation

    page.get_by_role("link", name="Рассылки").first.click()
    page.get_by_label("Название содержит").fill(mailing.name)
    page.get_by_role("button", name="Показать").click()
    row = page.get_by_test_id(f"mailing-journeys-{mailing.pk}")
    row.get_by_role("link", name="Отключить").click()
    page.get_by_test_id("confirm-disable").get_by_role("button", name="Отключить").click()

    assert row.get_by_test_id("disabled-badge").inner_text() == "отключена менеджером"
    assert page.get_by_role("alert").inner_text().startswith(f"Рассылка «{mailing.name}»")
    with schema_context("ws_journeys"):
        assert Mailing.objects.get(pk=mailing.pk).disabled_by_manager is True

    page.get_by_role("link", name="Пользователи").click()
    page.get_by_label("Email или имя содержит").fill(victim.email)
    page.get_by_role("button", name="Показать").click()
    victim_row = page.get_by_test_id(f"user-{victim.pk}")
    victim_row.get_by_role("link", name="Заблокировать").click()
    page.get_by_test_id("confirm-block").get_by_role("button", name="Заблокировать").click()
    victim_row = page.get_by_test_id(f"user-{victim.pk}")

    assert victim_row.get_by_test_id("blocked-badge").is_visible()
    victim.refresh_from_db()
    assert victim.is_active is False
    victim_page.reload()
    assert victim.email not in victim_page.locator("nav").inner_text()
    assert victim_page.get_by_role("link", name="Войти").is_visible()
    victim_context.close()

"""What a newcomer sees in a real browser: results on the mailing's own page, a
report that fits, the language they picked, and a time-zone picker a person can use."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_attempt, make_delivery, make_mailing, make_member, make_run
from saas.tests.test_browser_smoke import signed_in_cookie

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]

PASSWORD = "a-long-unusual-passphrase-42"


@pytest.fixture
def sent_mailing(journey_workspace):
    """A mailing whose only run, three hours ago, sent 3, failed 1 and skipped 1 (committed, removed after)."""
    with schema_context(journey_workspace.schema_name):
        mailing = make_mailing(name=f"Autumn news {uuid.uuid4().hex[:6]}")
        run = make_run(mailing, timezone.now() - timedelta(hours=3))
        for status in ("sent", "sent", "sent", "failed", "skipped"):
            delivery = make_delivery(run, status)
            if status != "skipped":
                make_attempt(delivery, run.scheduled_for, "success" if status == "sent" else "failure")
    yield mailing
    with schema_context(journey_workspace.schema_name):
        mailing.delete()


@pytest.fixture
def owner(journey_workspace):
    user = make_member(journey_workspace, "owner", email=f"newcomer-{uuid.uuid4().hex[:8]}@example.com", verified=False)
    yield user
    user.delete()


@pytest.mark.parametrize(("language", "width"), [("ru", 390), ("en", 1366)])
def test_mailing_page_shows_the_latest_results_and_leads_to_a_report_that_fits(
    live_site, browser, journey_workspace, sent_mailing, owner, language, width
):
    context = browser.new_context(locale="ru-RU", viewport={"width": width, "height": 900})
    host = f"{journey_workspace.slug}.localhost"
    context.add_cookies(
        [signed_in_cookie(owner, host), {"name": "django_language", "value": language, "domain": host, "path": "/"}]
    )
    page = context.new_page()
    try:
        page.goto(live_site.workspace_url(journey_workspace.slug, f"/mailings/{sent_mailing.pk}/"))

        figures = page.get_by_test_id("latest-run")
        assert [
            figures.get_by_test_id(f"latest-{state}").inner_text() for state in ("sent", "failed", "pending", "skipped")
        ] == ["3", "1", "0", "1"]
        assert "text-danger" not in figures.get_by_test_id("latest-pending").get_attribute("class")
        with page.expect_navigation():
            page.get_by_test_id("report-link").click()
        page.wait_for_function("() => window.Chart && Chart.getChart('attempts-chart')")

        assert page.locator("#id_period").input_value() == "2d"  # ran three hours ago: 48 hours by hour
        labels = page.evaluate("() => Chart.getChart('attempts-chart').data.labels")
        assert len(labels) in (48, 49)
        shown_time = page.get_by_test_id("attempt").first.locator("td").first.inner_text()
        if language == "en":
            assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d", shown_time)
            assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d\d:\d\d", labels[0])
        else:
            assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", shown_time)
            assert re.fullmatch(r"\d\d\.\d\d \d\d:\d\d", labels[0])
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    finally:
        context.close()


def test_language_picked_before_signing_in_is_kept_after_signing_in(live_site, page, owner):
    from shared_apps.accounts.services import mark_email_verified

    owner.set_password(PASSWORD)
    owner.language = "ru"
    owner.save()
    mark_email_verified(owner)  # the owner fixture left it unverified
    page.goto(live_site.url("/accounts/login/"))

    with page.expect_navigation():
        page.select_option("#language-select", "en")
    page.fill("#id_login", owner.email)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign In").click()

    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Sign out").is_visible()
    owner.refresh_from_db()
    assert owner.language == "en"


def test_time_zone_picker_groups_canonical_zones_with_offsets(live_site, page, owner):
    page.context.add_cookies([signed_in_cookie(owner, "localhost")])

    page.goto(live_site.url("/profile/"))

    picker = page.locator("select[name=time_zone]")
    groups = picker.locator("optgroup").evaluate_all("groups => groups.map(g => g.label)")
    assert "Европа" in groups and "Азия" in groups
    assert picker.locator("option[value='Navajo'], option[value='W-SU'], option[value='Factory']").count() == 0
    assert picker.locator("option[value='Europe/Moscow']").inner_text() == "(UTC+03:00) Moscow"

"""An owner reads a mailing's report in a real browser."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_attempt, make_delivery, make_mailing, make_run
from saas.tests.test_browser_smoke import signed_in_cookie
from tenants.access import set_member_role
from tenants.models import Workspace

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


def test_owner_opens_a_mailings_report_sees_the_chart_and_filters_the_log_by_failures(live_site, page):
    name = f"Winter sale {uuid.uuid4().hex[:6]}"
    with schema_context("ws_journeys"):
        mailing = make_mailing(name=name)
        run = make_run(mailing)
        now = timezone.now()
        for n in range(4):
            make_attempt(make_delivery(run, "sent"), now - timedelta(minutes=n), "success")
        for n in range(2):
            make_attempt(make_delivery(run, "failed"), now - timedelta(minutes=10 + n), "failure", 550)
    owner, _ = get_user_model().objects.get_or_create(email=f"report-owner-{uuid.uuid4().hex[:6]}@example.com")
    set_member_role(owner, Workspace.objects.get(slug="journeys"), "owner")
    page.context.add_cookies([signed_in_cookie(owner, "journeys.localhost")])

    page.goto(live_site.workspace_url("journeys", "/"))
    page.get_by_test_id("nav-reports").click()
    page.get_by_role("link", name=name).click()

    assert page.get_by_test_id("mailing-name").inner_text() == name
    assert page.get_by_test_id("attempts-chart").is_visible()
    drawn = page.evaluate(
        "() => { const c = Chart.getChart('attempts-chart');"
        " return c.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)); }"
    )
    assert drawn == [4, 2, 0, 0]  # successful, failed, bounced, complaints
    assert page.get_by_test_id("attempt").count() == 6

    page.select_option("select[name=status]", "failure")
    page.get_by_test_id("log-filter").get_by_role("button", name="Показать").click()

    page.wait_for_url("**status=failure**")
    rows = page.get_by_test_id("attempt")
    assert rows.count() == 2
    assert {rows.nth(i).get_attribute("data-status") for i in range(2)} == {"failure"}
    assert "5.1.1 User unknown" in rows.first.inner_text()

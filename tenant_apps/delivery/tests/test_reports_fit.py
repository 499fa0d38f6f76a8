"""Reports that fit the data: the chart's default range, the latest run on the
mailing's own page, and colours that do not alarm over nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saas.factories import make_attempt, make_delivery, make_mailing, make_run
from tenant_apps.delivery import reports
from tenant_apps.delivery.models import Attempt, Delivery

SENT, FAILED, PENDING, SKIPPED = (
    Delivery.Status.SENT,
    Delivery.Status.FAILED,
    Delivery.Status.PENDING,
    Delivery.Status.SKIPPED,
)


@pytest.fixture
def owner_client(workspace, workspace_client, member_factory):
    workspace_client.force_login(member_factory(workspace, "owner"))
    return workspace_client


def test_chart_of_a_mailing_that_ran_today_shows_48_hours_by_hour(in_workspace, owner_client):
    mailing = make_mailing()
    make_attempt(make_delivery(make_run(mailing, timezone.now() - timedelta(hours=3)), SENT))

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/")

    assert response.context["chart_period"] == "2d" and response.context["bucket"] == "hour"
    assert len(response.context["series"]["labels"]) in (48, 49)


def test_chart_of_a_mailing_that_ran_last_week_shows_30_days_by_day(in_workspace, owner_client):
    mailing = make_mailing()
    make_run(mailing, timezone.now() - timedelta(days=7))

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/")

    assert response.context["chart_period"] == "30d" and response.context["bucket"] == "day"


def test_chart_of_a_mailing_that_never_ran_shows_30_days(in_workspace, owner_client):
    mailing = make_mailing()

    assert owner_client.get(f"/delivery/mailings/{mailing.pk}/").context["chart_period"] == "30d"


def test_chosen_chart_period_wins_over_the_default(in_workspace, owner_client):
    mailing = make_mailing()
    make_run(mailing, timezone.now())

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"period": "90d"})

    assert response.context["chart_period"] == "90d"
    assert '<option value="90d" selected>' in response.content.decode()


def test_workspace_chart_defaults_to_hours_when_any_mailing_ran_recently(in_workspace, owner_client):
    make_run(make_mailing(), timezone.now() - timedelta(days=20))
    make_run(make_mailing(), timezone.now() - timedelta(hours=1))

    assert owner_client.get("/delivery/").context["chart_period"] == "2d"


def test_default_period_looks_only_at_the_given_mailings_runs(in_workspace):
    old, fresh = make_mailing(), make_mailing()
    make_run(old, timezone.now() - timedelta(days=5))
    make_run(fresh, timezone.now())

    assert reports.default_period(old) == "30d"
    assert reports.default_period(fresh) == "2d"


def test_latest_run_counts_only_the_newest_run(in_workspace):
    mailing = make_mailing()
    older = make_run(mailing, timezone.now() - timedelta(days=1))
    make_delivery(older, SENT)
    newest = make_run(mailing, timezone.now())
    for status in (SENT, SENT, FAILED, PENDING, SKIPPED):
        make_delivery(newest, status)

    run = reports.latest_run(mailing)

    assert run.pk == newest.pk
    assert (run.sent, run.failed, run.pending, run.skipped, run.total) == (2, 1, 1, 1, 5)


def test_mailing_page_shows_its_latest_runs_figures_and_the_report_link(in_workspace, owner_client):
    mailing = make_mailing(status="completed")
    run = make_run(mailing, timezone.now() - timedelta(hours=2))
    for status in (SENT, SENT, SENT, FAILED, SKIPPED):
        make_attempt(make_delivery(run, status), status=Attempt.Status.FAILURE if status == FAILED else "success")

    response = owner_client.get(f"/mailings/{mailing.pk}/")

    page = response.content.decode()
    assert response.context["latest_run"].pk == run.pk
    assert 'data-testid="latest-sent">3<' in page
    assert 'data-testid="latest-failed">1<' in page
    assert 'data-testid="latest-pending">0<' in page
    assert 'data-testid="latest-skipped">1<' in page
    assert f'href="/delivery/mailings/{mailing.pk}/" data-testid="report-link"' in page


def test_mailing_page_without_runs_says_nothing_was_sent_yet(in_workspace, owner_client):
    mailing = make_mailing()

    page = owner_client.get(f"/mailings/{mailing.pk}/").content.decode()

    assert 'data-testid="latest-none"' in page and 'data-testid="latest-sent"' not in page


def test_zero_failures_are_not_painted_red(in_workspace, owner_client):
    mailing = make_mailing()
    make_delivery(make_run(mailing), SENT)

    page = owner_client.get(f"/mailings/{mailing.pk}/").content.decode()

    assert 'class="fs-3 fw-semibold" data-testid="latest-failed">0<' in page


def test_failures_are_painted_red(in_workspace, owner_client):
    mailing = make_mailing()
    make_delivery(make_run(mailing), FAILED)

    page = owner_client.get(f"/mailings/{mailing.pk}/").content.decode()

    assert 'class="fs-3 fw-semibold text-danger" data-testid="latest-failed">1<' in page


def test_english_report_writes_every_moment_one_way(in_workspace, owner_client):
    mailing = make_mailing()
    three_days_ago = timezone.now() - timedelta(days=3)
    run = make_run(mailing, three_days_ago)
    make_attempt(make_delivery(run, SENT), three_days_ago)
    owner_client.cookies["django_language"] = "en"

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/")

    page = response.content.decode()
    shown_at = timezone.localtime(run.scheduled_for, response.context["report_tz"])
    assert shown_at.strftime("%-d %b %Y, %H:%M") in page  # the runs table
    assert shown_at.strftime("%-d %b %Y, %H:%M:") in page  # the attempt log, with seconds
    assert "a.m." not in page and "p.m." not in page
    assert response.context["series"]["labels"][-1] == timezone.localtime(
        timezone.now(), response.context["report_tz"]
    ).strftime("%-d %b")

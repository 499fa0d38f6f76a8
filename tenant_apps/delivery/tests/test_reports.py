"""Delivery reports: counts per run, the attempt log, the chart, totals, who sees them."""

import json
import re
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saas.factories import make_attempt, make_delivery, make_mailing, make_run
from tenant_apps.delivery import reports
from tenant_apps.delivery.models import Attempt, Delivery

SENT, FAILED, PENDING, SENDING, SKIPPED = (
    Delivery.Status.SENT,
    Delivery.Status.FAILED,
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.SKIPPED,
)
SUCCESS, FAILURE = Attempt.Status.SUCCESS, Attempt.Status.FAILURE


@pytest.fixture
def owner_client(workspace, workspace_client, member_factory):
    workspace_client.force_login(member_factory(workspace, "owner"))
    return workspace_client


def deliveries(run, **counts):
    return {status: [make_delivery(run, status) for _ in range(n)] for status, n in counts.items()}


# --- counts per run ----------------------------------------------------------


def test_run_counts_count_each_state_per_run(in_workspace):
    mailing = make_mailing()
    older = make_run(mailing, timezone.now() - timedelta(days=1))
    newer = make_run(mailing, timezone.now())
    deliveries(older, sent=3, failed=1, skipped=2)
    deliveries(newer, sent=1, pending=2, sending=1)
    deliveries(make_run(make_mailing()), sent=5, failed=5)  # another mailing: not counted

    runs = list(reports.run_counts(mailing))

    counts = [(run.pk, run.sent, run.failed, run.pending, run.skipped, run.total) for run in runs]
    assert counts == [(newer.pk, 1, 0, 3, 0, 4), (older.pk, 3, 1, 0, 2, 6)]


def data_queries(captured):
    """The captured SQL minus django-tenants' SET search_path."""
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET search_path")]


def test_run_counts_are_one_query_for_any_number_of_runs(in_workspace):
    mailing = make_mailing()
    for day in range(5):
        deliveries(make_run(mailing, timezone.now() - timedelta(days=day)), sent=2, failed=1)

    with CaptureQueriesContext(connection) as captured:
        runs = list(reports.run_counts(mailing))

    assert len(data_queries(captured)) == 1
    assert [run.sent for run in runs] == [2] * 5


def test_mailing_page_costs_the_same_queries_for_one_run_or_many(in_workspace, owner_client):
    def queries_for(mailing):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(f"/delivery/mailings/{mailing.pk}/").status_code == 200
        return len(data_queries(captured))

    small, large = make_mailing(), make_mailing()
    deliveries(make_run(small), sent=1)
    for day in range(8):
        deliveries(make_run(large, timezone.now() - timedelta(days=day)), sent=2, failed=1, pending=1)

    assert queries_for(large) == queries_for(small)


def test_mailing_report_shows_each_runs_counts(in_workspace, owner_client):
    mailing = make_mailing(name="Autumn sale")
    run = make_run(mailing)
    deliveries(run, sent=4, failed=2, pending=1, skipped=3)

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/")

    assert response.status_code == 200
    row = re.search(rf'data-testid="run-{run.pk}">(.*?)</tr>', response.content.decode(), re.S).group(1)
    cells = dict(re.findall(r'data-testid="(\w+)">(\d+)<', row))
    assert cells == {"total": "10", "sent": "4", "failed": "2", "pending": "1", "skipped": "3"}


def test_runs_are_paginated(in_workspace, owner_client):
    from tenant_apps.delivery.views import RUNS_PER_PAGE

    mailing = make_mailing()
    runs = [make_run(mailing, timezone.now() - timedelta(hours=n)) for n in range(RUNS_PER_PAGE + 3)]

    first = owner_client.get(f"/delivery/mailings/{mailing.pk}/").context["runs"]
    second = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"runs_page": 2}).context["runs"]

    assert [run.pk for run in first] == [run.pk for run in runs[:RUNS_PER_PAGE]]
    assert [run.pk for run in second] == [run.pk for run in runs[RUNS_PER_PAGE:]]


# --- attempt log -------------------------------------------------------------


@pytest.fixture
def logged_mailing(in_workspace):
    """A mailing with two runs: run A has 3 successes and 2 failures, run B 1 success and 1 failure."""
    mailing = make_mailing(name="Logged")
    run_a = make_run(mailing, timezone.now() - timedelta(days=1))
    run_b = make_run(mailing, timezone.now())
    start = timezone.now() - timedelta(hours=5)
    plan = [(run_a, SUCCESS)] * 3 + [(run_a, FAILURE)] * 2 + [(run_b, SUCCESS), (run_b, FAILURE)]
    for n, (run, status) in enumerate(plan):
        make_attempt(make_delivery(run, SENT if status == SUCCESS else FAILED), start + timedelta(minutes=n), status)
    return mailing, run_a, run_b


def shown_attempts(response):
    assert response.status_code == 200
    return list(response.context["log"].attempts)


def test_log_lists_time_recipient_status_code_and_response_newest_first(logged_mailing, owner_client):
    mailing, _, run_b = logged_mailing

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/")

    attempts = shown_attempts(response)
    assert len(attempts) == 7
    assert [a.at for a in attempts] == sorted((a.at for a in attempts), reverse=True)
    newest = attempts[0]
    page = response.content.decode()
    assert newest.delivery.run == run_b and newest.status == FAILURE
    assert newest.delivery.email in page and "5.1.1 User unknown" in page and ">550<" in page


def test_log_filtered_by_failure_shows_only_failures(logged_mailing, owner_client):
    mailing, _, _ = logged_mailing

    attempts = shown_attempts(owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"status": "failure"}))

    assert [a.status for a in attempts] == [FAILURE] * 3


def test_log_filtered_by_success_shows_only_successes(logged_mailing, owner_client):
    mailing, _, _ = logged_mailing

    attempts = shown_attempts(owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"status": "success"}))

    assert [a.status for a in attempts] == [SUCCESS] * 4


def test_log_filtered_by_run_and_status(logged_mailing, owner_client):
    mailing, run_a, _ = logged_mailing

    attempts = shown_attempts(
        owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"run": run_a.pk, "status": "failure"})
    )

    assert len(attempts) == 2
    assert {a.delivery.run_id for a in attempts} == {run_a.pk}


def test_run_of_another_mailing_is_refused_with_a_message(logged_mailing, owner_client):
    mailing, _, _ = logged_mailing
    foreign_run = make_run(make_mailing())
    make_attempt(make_delivery(foreign_run, SENT))

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"run": foreign_run.pk})

    assert response.status_code == 200
    assert response.context["log"] is None
    assert 'data-testid="log-errors"' in response.content.decode()


def test_unknown_status_is_refused_with_a_message(logged_mailing, owner_client):
    mailing, _, _ = logged_mailing

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"status": "bounced"})

    assert response.context["log"] is None
    assert "status" in response.context["log_form"].errors


def test_forged_log_position_is_refused_with_a_message(logged_mailing, owner_client):
    mailing, _, _ = logged_mailing

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"before": "yesterday"})

    assert response.context["log"] is None
    assert "before" in response.context["log_form"].errors


def test_log_pages_follow_each_other_without_gaps_or_repeats(in_workspace, owner_client):
    size = reports.LOG_PAGE_SIZE
    mailing = make_mailing()
    run = make_run(mailing)
    start = timezone.now() - timedelta(hours=3)
    # Pairs of attempts share a timestamp: the cursor must still order them.
    for n in range(size * 2 + 7):
        make_attempt(make_delivery(run, SENT), start + timedelta(seconds=n // 2))
    everything = list(reports.attempt_log(mailing))
    url = f"/delivery/mailings/{mailing.pk}/"

    first = owner_client.get(url).context["log"]
    second = owner_client.get(url, {"before": first.older}).context["log"]
    third = owner_client.get(url, {"before": second.older}).context["log"]
    back = owner_client.get(url, {"after": second.newer}).context["log"]

    assert [len(p.attempts) for p in (first, second, third)] == [size, size, 7]
    assert first.attempts + second.attempts + third.attempts == everything
    assert first.newer is None and third.older is None
    assert back.attempts == first.attempts


def test_log_page_keeps_the_filters_in_its_links(logged_mailing, owner_client, monkeypatch):
    monkeypatch.setattr(reports, "LOG_PAGE_SIZE", 1)
    mailing, run_a, _ = logged_mailing

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"status": "failure", "run": run_a.pk})

    older_link = re.search(r'href="\?([^"#]*)#log" data-testid="log-older"', response.content.decode()).group(1)
    assert f"status=failure&amp;run={run_a.pk}&amp;before=" in older_link
    second = owner_client.get(f"/delivery/mailings/{mailing.pk}/?" + older_link.replace("&amp;", "&"))
    assert [a.status for a in second.context["log"].attempts] == [FAILURE]
    assert second.context["log"].attempts[0].delivery.run == run_a


# --- chart -------------------------------------------------------------------


def test_daily_series_counts_successes_and_failures_per_day_with_empty_days(in_workspace):
    mailing = make_mailing()
    delivery = make_delivery(make_run(mailing), SENT)
    day1 = datetime(2030, 3, 1, 10, tzinfo=UTC)
    for at, status in [
        (day1, SUCCESS),
        (day1 + timedelta(hours=5), SUCCESS),
        (day1 + timedelta(hours=6), FAILURE),
        (day1 + timedelta(days=2, hours=1), FAILURE),
    ]:
        make_attempt(delivery, at, status)
    make_attempt(make_delivery(make_run(make_mailing()), SENT), day1, SUCCESS)  # another mailing

    since, until = datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 3, 4, 12, tzinfo=UTC)
    series = reports.attempt_series(since, mailing=mailing, bucket="day", until=until, tz=UTC)
    everyone = reports.attempt_series(since, bucket="day", until=until, tz=UTC)

    assert series["buckets"] == [f"2030-03-0{d}T00:00:00+00:00" for d in (1, 2, 3, 4)]
    assert series["labels"] == ["01.03", "02.03", "03.03", "04.03"]
    assert series["success"] == [2, 0, 0, 0]
    assert series["failure"] == [1, 0, 1, 0]
    assert everyone["success"] == [3, 0, 0, 0]


def test_hourly_series_buckets_by_the_workspace_time_zone(in_workspace):
    moscow = zoneinfo.ZoneInfo("Europe/Moscow")  # UTC+3
    delivery = make_delivery(make_run(make_mailing()), SENT)
    make_attempt(delivery, datetime(2030, 3, 1, 20, 59, tzinfo=UTC), SUCCESS)  # 23:59 in Moscow
    make_attempt(delivery, datetime(2030, 3, 1, 21, 0, tzinfo=UTC), FAILURE)  # 00:00 next day in Moscow

    hourly = reports.attempt_series(
        datetime(2030, 3, 1, 20, 0, tzinfo=UTC),
        bucket="hour",
        until=datetime(2030, 3, 1, 21, 30, tzinfo=UTC),
        tz=moscow,
    )
    daily = reports.attempt_series(
        datetime(2030, 3, 1, 0, 0, tzinfo=UTC), bucket="day", until=datetime(2030, 3, 2, 0, 0, tzinfo=UTC), tz=moscow
    )

    assert hourly["labels"] == ["01.03 23:00", "02.03 00:00"]
    assert (hourly["success"], hourly["failure"]) == ([1, 0], [0, 1])
    assert daily["labels"] == ["01.03", "02.03"]
    assert (daily["success"], daily["failure"]) == ([1, 0], [0, 1])


def test_mailing_page_embeds_the_chart_and_its_series(logged_mailing, owner_client):
    mailing, _, _ = logged_mailing

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"period": "2d"})

    page = response.content.decode()
    assert '<canvas id="attempts-chart"' in page and "vendor/chartjs-4.5.1/chart.umd.min.js" in page
    embedded = json.loads(re.search(r'id="attempts-series" type="application/json">(.*?)</script>', page).group(1))
    assert len(embedded["labels"]) in (48, 49)  # hourly over two days
    assert sum(embedded["success"]) == 4 and sum(embedded["failure"]) == 3


def test_chart_period_falls_back_to_the_fitting_default_for_an_unknown_choice(in_workspace, owner_client):
    mailing = make_mailing()
    make_run(mailing, timezone.now() - timedelta(days=10))

    response = owner_client.get(f"/delivery/mailings/{mailing.pk}/", {"period": "forever"})

    assert response.status_code == 200
    assert response.context["bucket"] == "day" and len(response.context["series"]["labels"]) == 31


def test_chart_is_cached_for_a_while_and_per_workspace(in_workspace, other_workspace):
    from django_tenants.utils import schema_context

    delivery = make_delivery(make_run(make_mailing()), SENT)
    make_attempt(delivery, timezone.now() - timedelta(minutes=5), SUCCESS)
    first = reports.chart_series("2d", tz=UTC)
    make_attempt(delivery, timezone.now() - timedelta(minutes=4), SUCCESS)

    assert reports.chart_series("2d", tz=UTC) == first  # within the minute: the cached chart
    with schema_context(other_workspace.schema_name):
        assert sum(reports.chart_series("2d", tz=UTC)["success"]) == 0  # globex's own, not acme's cached one
    cache.clear()
    assert sum(reports.chart_series("2d", tz=UTC)["success"]) == sum(first["success"]) + 1


# --- the workspace report ------------------------------------------------------


def test_workspace_totals_split_the_last_thirty_days_from_all_time(in_workspace):
    now = timezone.now()
    recent_run = make_run(make_mailing(), now - timedelta(days=2))
    old_run = make_run(make_mailing(), now - timedelta(days=60))
    for _ in range(3):
        make_delivery(recent_run, SENT, finished_at=now - timedelta(days=1))
    make_delivery(recent_run, FAILED, finished_at=now - timedelta(days=1))
    make_delivery(recent_run, PENDING)
    for _ in range(2):
        make_delivery(old_run, SENT, finished_at=now - timedelta(days=59))
    make_delivery(old_run, FAILED, finished_at=now - timedelta(days=59))
    make_delivery(old_run, SENDING)
    make_delivery(old_run, SKIPPED)

    totals = reports.workspace_totals()

    assert totals["recent"] == {"sent": 3, "failed": 1, "pending": 1, "skipped": 0, "bounced": 0, "complained": 0}
    assert totals["all"] == {"sent": 5, "failed": 2, "pending": 2, "skipped": 1, "bounced": 0, "complained": 0}


def test_unsubscribe_totals_count_who_left_and_who_left_recently(in_workspace):
    from saas.factories import make_client

    now = timezone.now()
    make_client(is_subscribed=False, unsubscribed_at=now - timedelta(days=2))
    make_client(is_subscribed=False, unsubscribed_at=now - timedelta(days=45))
    make_client()  # subscribed
    make_client(is_subscribed=True, unsubscribed_at=None)

    assert reports.unsubscribe_totals() == {"all": 2, "recent": 1}


def test_workspace_report_shows_the_unsubscribes(in_workspace, owner_client):
    from saas.factories import make_client

    make_client(is_subscribed=False, unsubscribed_at=timezone.now())

    page = owner_client.get("/delivery/").content.decode()

    assert re.search(r'data-testid="unsubscribed">\s*1 клиент отписался,\s*1 из них за последние 30 дней', page)


def test_delivery_totals_for_the_dashboard_count_since_a_time(in_workspace):
    run = make_run(make_mailing())
    make_delivery(run, SENT, finished_at=timezone.now() - timedelta(hours=1))
    make_delivery(run, SENT, finished_at=timezone.now() - timedelta(days=10))
    make_delivery(run, FAILED, finished_at=timezone.now() - timedelta(hours=2))

    assert reports.delivery_totals(timezone.now() - timedelta(days=1)) == {
        "sent": 1,
        "failed": 1,
        "bounced": 0,
        "complained": 0,
    }


def test_workspace_report_lists_every_mailing_with_its_counts_and_report_link(in_workspace, owner_client):
    first, second = make_mailing(name="Spring news"), make_mailing(name="Black Friday")
    deliveries(make_run(first), sent=2, failed=1)
    deliveries(make_run(second), pending=4)

    response = owner_client.get("/delivery/")

    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="/delivery/mailings/{first.pk}/">Spring news</a>' in page
    assert f'href="/delivery/mailings/{second.pk}/">Black Friday</a>' in page
    rows = dict(response.context["rows"])
    assert (rows[first]["sent"], rows[first]["failed"], rows[first]["runs"]) == (2, 1, 1)
    assert rows[second]["pending"] == 4
    assert 'data-testid="attempts-chart"' in page
    assert response.context["totals"]["all"]["sent"] >= 2


def test_workspace_report_has_totals_and_a_chart_of_every_mailing(in_workspace, owner_client):
    for status in (SUCCESS, SUCCESS, FAILURE):
        make_attempt(make_delivery(make_run(make_mailing()), SENT), timezone.now() - timedelta(hours=1), status)

    series = owner_client.get("/delivery/").context["series"]

    # Summed over the chart: an hour ago may fall on yesterday's bar in the reader's time zone.
    assert sum(series["success"]) >= 2 and sum(series["failure"]) >= 1


def test_reports_are_in_english_for_an_english_reader(in_workspace, owner_client):
    owner_client.cookies["django_language"] = "en"

    page = owner_client.get("/delivery/").content.decode()

    assert "Delivery reports" in page and "All time" in page


def test_reports_nav_link_is_in_the_workspace_menu(in_workspace, owner_client):
    page = owner_client.get("/").content.decode()

    assert 'href="/delivery/" data-testid="nav-reports">Отчёты</a>' in page


def test_workspace_report_costs_the_same_queries_for_one_mailing_or_many(in_workspace, owner_client):
    def queries():
        cache.clear()  # count the chart's query both times
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get("/delivery/").status_code == 200
        return len(data_queries(captured))

    deliveries(make_run(make_mailing()), sent=1)
    few = queries()
    for _ in range(6):
        deliveries(make_run(make_mailing()), sent=1, failed=2)

    assert queries() == few


def test_report_without_mailings_offers_an_editor_to_create_one(in_workspace, owner_client):
    from tenant_apps.campaigns.models import Mailing

    Mailing.objects.all().delete()  # mailings committed by browser journeys; rolled back after the test

    page = owner_client.get("/delivery/").content.decode()

    assert 'data-testid="no-mailings"' in page
    assert 'href="/mailings/new/"' in page


def test_report_without_mailings_tells_a_viewer_what_will_appear(
    in_workspace, workspace, workspace_client, member_factory
):
    from tenant_apps.campaigns.models import Mailing

    Mailing.objects.all().delete()
    workspace_client.force_login(member_factory(workspace, "viewer"))

    page = workspace_client.get("/delivery/").content.decode()

    assert 'href="/mailings/new/"' not in page
    assert "Отчёты появятся здесь, когда рассылка будет отправлена." in page


def test_mailing_report_links_back_to_the_mailing_and_highlights_only_reports(in_workspace, owner_client):
    mailing = make_mailing(name="Linked back")

    page = owner_client.get(f"/delivery/mailings/{mailing.pk}/").content.decode()

    assert f'href="/mailings/{mailing.pk}/" data-testid="mailing-link"' in page
    active = re.findall(r'class="nav-link active"[^>]*>([^<]+)<', page)
    assert active == ["Отчёты"]

"""How fast the delivery reports answer with a large attempt log.

    DEBUG=1 .venv/bin/python bench/reports.py [ATTEMPTS ...]   (e.g. 1000 1000000)

Creates a workspace bench-<random>, fills it (in SQL) with one big mailing of
~ATTEMPTS attempts (default 100,000; 10% of its deliveries fail after one
temporary 451 and a final 550) and a second mailing half that size, then
rebuilds the report counters from that log (counters.recount_mailing, as
`recount_delivery_counters` does; timed), then times the workspace
dashboard and each report page through Django's test client (median of 5) and
prints the plan of the attempt log query. Drops the workspace at the end.
Uses DATABASE_URL (default: local PostgreSQL).
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from tenant_apps.campaigns.models import Mailing, Message  # noqa: E402
from tenant_apps.delivery import counters, reports  # noqa: E402
from tenant_apps.delivery.models import Run  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

RUNS = 30


def fill(mailing, attempts):
    """RUNS runs of the mailing; deliveries so that the attempts come to about `attempts`."""
    per_run = max(1, int(attempts / 1.1 / RUNS))
    now = timezone.now()
    Run.objects.bulk_create(
        Run(mailing=mailing, scheduled_for=now - timedelta(days=n), deadline=now, status="done") for n in range(RUNS)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO delivery_delivery (run_id, email, status, attempt_count, claimed_by, last_response, finished_at)
            SELECT r.id, 'r' || g || '@example.com', CASE WHEN g %% 10 = 0 THEN 'failed' ELSE 'sent' END,
                   CASE WHEN g %% 10 = 0 THEN 2 ELSE 1 END, '', '', r.scheduled_for + g * interval '20 ms'
            FROM delivery_run r, generate_series(1, %s) g WHERE r.mailing_id = %s
            """,
            [per_run, mailing.pk],
        )
        cursor.execute(
            """
            INSERT INTO delivery_attempt (delivery_id, at, status, smtp_code, response, permanent)
            SELECT d.id, d.finished_at, CASE d.status WHEN 'sent' THEN 'success' ELSE 'failure' END,
                   CASE d.status WHEN 'sent' THEN 250 ELSE 550 END,
                   CASE d.status WHEN 'sent' THEN '2.0.0 Ok: queued as ' || d.id ELSE '5.1.1 User unknown' END,
                   d.status = 'failed'
            FROM delivery_delivery d JOIN delivery_run r ON r.id = d.run_id WHERE r.mailing_id = %s
            UNION ALL
            SELECT d.id, d.finished_at - interval '1 minute', 'failure', 451, '4.7.1 Try again later', false
            FROM delivery_delivery d JOIN delivery_run r ON r.id = d.run_id
            WHERE r.mailing_id = %s AND d.status = 'failed'
            """,
            [mailing.pk, mailing.pk],
        )
        cursor.execute("ANALYZE")


def forget_charts(workspace, mailings):
    with schema_context(workspace.schema_name):
        cache.delete_many(
            f"delivery:chart:{key}:{period}:{workspace.time_zone}"
            for key in ["all", *(m.pk for m in mailings)]
            for period in reports.CHART_PERIODS
        )


def timed(client, url):
    """(first load with no cached chart, median of the next 5) in ms."""
    timings = []
    for _ in range(6):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return timings[0] * 1000, statistics.median(timings[1:]) * 1000


def main(attempts):
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    user = get_user_model().objects.create_user(email=f"{slug}@example.com", password=uuid.uuid4().hex)
    workspace = create_workspace(name=slug, slug=slug, owner=user)
    try:
        with schema_context(workspace.schema_name):
            message = Message.objects.create(subject="Bench", body_text="Bench")
            now = timezone.now()
            big, other = (
                Mailing.objects.create(name=name, message=message, start_at=now, end_at=now)
                for name in ("big", "other")
            )
            started = time.perf_counter()
            fill(big, attempts)
            fill(other, attempts // 2)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM delivery_attempt")
                total = cursor.fetchone()[0]
            print(f"attempts in the workspace: {total:,} (filled in {time.perf_counter() - started:.1f} s)")
            started = time.perf_counter()
            for mailing in (big, other):
                counters.recount_mailing(mailing.pk)
            print(f"counters rebuilt from the log in {time.perf_counter() - started:.1f} s")
            middle_run = big.runs.order_by("scheduled_for")[RUNS // 2]
            log = reports.attempt_log(big)
            deep = reports.encode_cursor(log[attempts // 2])
            plan = log.filter(status="failure")[: reports.LOG_PAGE_SIZE + 1].explain()
        client = Client(HTTP_HOST=workspace.host)
        client.force_login(user)
        report = f"/delivery/mailings/{big.pk}/"
        print(f"{'page':34} {'first':>8} {'cached chart':>12}")
        for label, url in [
            ("workspace dashboard", "/"),
            ("workspace report", "/delivery/"),
            ("mailing report, first log page", report),
            ("  log filtered by failures", report + "?status=failure"),
            ("  log filtered by one run", report + f"?run={middle_run.pk}"),
            ("  log page half-way down", report + f"?before={deep}"),
            ("  chart by hour (48 h)", report + "?period=2d"),
        ]:
            forget_charts(workspace, [big])
            cold, warm = timed(client, url)
            print(f"{label:34} {cold:5.0f} ms {warm:7.0f} ms")
        print("plan of the log query filtered by failures:")
        print(plan)
    finally:
        connection.set_schema_to_public()
        workspace.delete(force_drop=True)
        user.delete()


if __name__ == "__main__":
    for size in [int(arg) for arg in sys.argv[1:]] or [100_000]:
        main(size)

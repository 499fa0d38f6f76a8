"""The report counters equal a COUNT over the log after everything that changes deliveries."""

import datetime as dt
import io
from collections import Counter

import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tenant_apps.delivery import counters, engine, services
from tenant_apps.delivery.models import Attempt, AttemptsPerHour, Delivery, FinishedPerHour, RunCounter
from tenant_apps.feedback.incoming import Incoming
from tenant_apps.feedback.services import record_events


def counted_from_the_log():
    """(per run, attempts per hour, finished per hour) counted over the deliveries and attempts."""
    runs = Counter(
        (d.run_id, counters.counted_as(d.status)) for d in Delivery.objects.only("run_id", "status").iterator()
    )
    attempts = Counter(
        (counters.hour_of(a.at), a.delivery.run.mailing_id, a.status)
        for a in Attempt.objects.select_related("delivery__run")
    )
    finished = Counter(
        (counters.hour_of(d.finished_at), d.run.mailing_id, d.status)
        for d in Delivery.objects.select_related("run").filter(finished_at__isnull=False)
        if d.status not in counters.OPEN_STATES
    )
    return runs, attempts, finished


def kept_by_the_counters():
    def rows(queryset, *key):
        return Counter({tuple(row[:-1]): row[-1] for row in queryset.values_list(*key, "n") if row[-1]})

    return (
        rows(RunCounter.objects.all(), "run_id", "status"),
        rows(AttemptsPerHour.objects.all(), "hour", "mailing_id", "status"),
        rows(FinishedPerHour.objects.all(), "hour", "mailing_id", "status"),
    )


def assert_counters_match_the_log():
    log, kept = counted_from_the_log(), kept_by_the_counters()
    assert kept[0] == log[0], "per run"
    assert kept[1] == log[1], "attempts per hour"
    assert kept[2] == log[2], "finished per hour"


def send_now(mailing, workspace):
    runs = services.prepare_due_runs(mailing, workspace=workspace)
    for run in runs:
        engine.process_run(run, workspace)
    return runs[0]


def test_counters_equal_the_log_after_sends_refusals_and_a_skipped_unsubscriber(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    mailing = make_mailing(8)
    smtp_server.refuse[mailing.subscribed_clients[2].email] = "554 5.7.1 message rejected as spam"
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    assert kept_by_the_counters()[0] == {(run.pk, "pending"): 8}
    leaver = mailing.subscribed_clients[5]
    leaver.is_subscribed = False
    leaver.save()

    engine.process_run(run, in_workspace)

    assert Counter(Delivery.objects.filter(run=run).values_list("status", flat=True)) == {
        "sent": 6,
        "failed": 1,
        "skipped": 1,
    }
    assert_counters_match_the_log()


def test_counters_follow_a_retry_until_the_message_is_sent(in_workspace, engine_settings, smtp_sink, make_mailing):
    greylisting = smtp_sink("-r", "RCPT")  # 450 on every recipient
    engine_settings(greylisting.port).DELIVERY_BREAKER_THRESHOLD = 100
    mailing = make_mailing(2)

    run = send_now(mailing, in_workspace)
    assert_counters_match_the_log()
    assert kept_by_the_counters()[0] == {(run.pk, "pending"): 2}

    greylisting.stop()
    smtp_sink(port=greylisting.port)
    later = Delivery.objects.filter(run=run).order_by("-next_attempt_at").first().next_attempt_at
    with time_machine.travel(later + dt.timedelta(seconds=1)):
        engine.process_run(run, in_workspace)

    assert set(Delivery.objects.filter(run=run).values_list("status", flat=True)) == {"sent"}
    assert Attempt.objects.filter(delivery__run=run).count() == 4
    assert_counters_match_the_log()


def test_counters_follow_deliveries_that_expire_at_the_mailings_end(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    greylisting = smtp_sink("-r", "RCPT")
    engine_settings(greylisting.port).DELIVERY_BREAKER_THRESHOLD = 100
    mailing = make_mailing(3, end=timezone.now() + dt.timedelta(minutes=10))
    run = send_now(mailing, in_workspace)

    with time_machine.travel(run.deadline + dt.timedelta(seconds=1)):
        engine.expire_run(run, timezone.now())

    assert set(Delivery.objects.filter(run=run).values_list("status", flat=True)) == {"failed"}
    assert_counters_match_the_log()


def test_counters_follow_bounces_and_complaints(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    run = send_now(make_mailing(4), in_workspace)
    first, second, third, _ = Delivery.objects.filter(run=run).order_by("pk")

    record_events(
        [
            Incoming(kind="hard", source="smtp", delivery_id=first.pk),
            Incoming(kind="hard", source="smtp", delivery_id=second.pk),
            Incoming(kind="complaint", source="smtp", delivery_id=second.pk),  # outranks its bounce
            Incoming(kind="complaint", source="smtp", delivery_id=third.pk),
        ]
    )

    assert kept_by_the_counters()[0] == {(run.pk, "sent"): 1, (run.pk, "bounced"): 1, (run.pk, "complained"): 2}
    assert_counters_match_the_log()


def test_a_batch_written_by_a_worker_whose_claim_was_taken_back_counts_once(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    """Two workers, one claim: only the holder's write changes the deliveries, so only it is counted."""
    engine_settings(smtp_server.port).DELIVERY_CLAIM_TIMEOUT = 60
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    slow = engine.claim_batch(run, "slow-worker", 3, timezone.now())
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        engine.process_run(run, in_workspace)  # takes the stale claims back and sends them
    at = timezone.now()
    late = [
        engine.Result(c.id, engine.DELIVERED, tried=1, finished_at=at, attempt=(at, "success", 250, "ok", False))
        for c in slow
    ]

    engine.write_results(late, "slow-worker", engine.SentJournal(connection.schema_name, run.pk), run)

    assert Attempt.objects.filter(delivery__run=run).count() == 3
    assert kept_by_the_counters()[0] == {(run.pk, "sent"): 3}
    assert_counters_match_the_log()


def test_the_repair_command_rebuilds_counters_from_the_log(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    run = send_now(make_mailing(3), in_workspace)
    RunCounter.objects.filter(run=run).update(n=99)
    AttemptsPerHour.objects.all().delete()

    call_command("recount_delivery_counters", schema=connection.schema_name, stdout=io.StringIO())

    assert_counters_match_the_log()
    assert kept_by_the_counters()[0] == {(run.pk, "sent"): 3}

"""The engine against real SMTP servers over TCP: smtp-sink (faults) and aiosmtpd (reads messages)."""

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tenant_apps.campaigns import services as campaigns
from tenant_apps.delivery import engine, services
from tenant_apps.delivery.breaker import CircuitBreaker
from tenant_apps.delivery.models import Attempt, Delivery, Run
from tenant_apps.delivery.unsubscribe import read_token


def send_now(mailing, workspace):
    """Start the mailing's due run and work it in this process until it waits or is done."""
    runs = services.prepare_due_runs(mailing, workspace=workspace)
    assert runs, "the mailing should be due"
    progress = None
    for run in runs:
        progress = engine.process_run(run, workspace)
    return runs[0], progress


def statuses(run):
    return Counter(Delivery.objects.filter(run=run).values_list("status", flat=True))


def test_mailing_reaches_every_subscribed_client_exactly_once(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    mailing = make_mailing(30, unsubscribed=4)

    run, progress = send_now(mailing, in_workspace)

    expected = sorted(c.email for c in mailing.subscribed_clients)
    assert sorted(smtp_server.recipients) == expected
    assert progress.state == "done" and progress.summary.sent == 30
    assert statuses(run) == {"sent": 30}
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.finished_at is not None
    assert Attempt.objects.filter(delivery__run=run, status="success", smtp_code=250).count() == 30
    assert "Ok: queued" in Attempt.objects.filter(delivery__run=run).first().response
    assert len(smtp_server.sessions) == 1, "one reused connection for the whole run"


def test_messages_carry_one_click_unsubscribe_headers_and_personal_content(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    mailing = make_mailing(1)
    client = mailing.subscribed_clients[0]

    send_now(mailing, in_workspace)

    (_rcpt, message, _session) = smtp_server.messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith("http") and f"//{in_workspace.host}" in url
    assert read_token(url.rstrip("/").rsplit("/", 1)[1]) == (connection.schema_name, client.pk)
    assert message["Subject"] == "Привет, Клиент 0"
    assert message["From"].addresses[0].display_name == "Рассылка Acme"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Здравствуйте, Клиент 0!" in text and url in text
    assert "<p>Здравствуйте, Клиент 0!</p>" in html


def test_chosen_audience_gets_it_and_nobody_else(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    mailing = make_mailing(6, audience="selected")
    mailing.clients.set(mailing.subscribed_clients[:2])

    send_now(mailing, in_workspace)

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients[:2])


def test_client_who_unsubscribes_after_the_run_starts_is_skipped(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    leaver = mailing.subscribed_clients[1]
    leaver.is_subscribed = False
    leaver.save()

    engine.process_run(run, in_workspace)

    assert leaver.email not in smtp_server.recipients and len(smtp_server.recipients) == 2
    assert Delivery.objects.get(run=run, client=leaver).status == "skipped"


def test_slow_server_times_out_is_logged_as_a_timeout_then_the_retry_is_sent(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    slow = smtp_sink("-w", "3")  # answers DATA after 3 s; the engine waits 1 s
    engine_settings(slow.port)
    mailing = make_mailing(1)

    run, progress = send_now(mailing, in_workspace)

    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "pending" and delivery.attempt_count == 1
    assert progress.state == "waiting" and progress.wake_at == delivery.next_attempt_at
    failure = Attempt.objects.get(delivery=delivery)
    assert failure.status == "failure" and not failure.permanent
    assert failure.response.startswith("timeout: no answer within 1 s") and "Disconnected" not in failure.response

    slow.stop()
    smtp_sink(port=slow.port)  # the provider is healthy again
    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
        progress = engine.process_run(run, in_workspace)

    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempt_count == 2 and progress.state == "done"
    assert list(Attempt.objects.filter(delivery=delivery).order_by("at").values_list("status", flat=True)) == [
        "failure",
        "success",
    ]


def test_4xx_is_retried_with_growing_backoff_then_sent(in_workspace, engine_settings, smtp_sink, make_mailing):
    greylisting = smtp_sink("-r", "RCPT")  # 450 on every recipient
    engine_settings(greylisting.port).DELIVERY_BREAKER_THRESHOLD = 100
    mailing = make_mailing(1)

    run, _progress = send_now(mailing, in_workspace)
    delivery = Delivery.objects.get(run=run)
    first_delay = (delivery.next_attempt_at - Attempt.objects.get(delivery=delivery).at).total_seconds()
    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
        engine.process_run(run, in_workspace)
    delivery.refresh_from_db()
    second = Attempt.objects.filter(delivery=delivery).order_by("-at").first()
    second_delay = (delivery.next_attempt_at - second.at).total_seconds()

    assert delivery.status == "pending" and delivery.attempt_count == 2
    assert second.smtp_code == 450 and not second.permanent
    assert 48 <= first_delay <= 72 and 96 <= second_delay <= 144  # 60 s, then 120 s, ±20 % jitter

    greylisting.stop()
    smtp_sink(port=greylisting.port)
    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
        engine.process_run(run, in_workspace)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempt_count == 3


def test_5xx_at_rcpt_fails_that_recipient_at_once_with_the_response_logged(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    refusing = smtp_sink("-f", "RCPT")  # 500 on every recipient
    engine_settings(refusing.port).DELIVERY_SMTP_TIMEOUT = 5.0  # not a test of timeouts: no slow reply counts
    mailing = make_mailing(2)

    run, progress = send_now(mailing, in_workspace)

    assert progress.state == "done" and progress.summary.failed == 2
    for delivery in Delivery.objects.filter(run=run):
        assert delivery.status == "failed" and delivery.attempt_count == 1 and delivery.finished_at
        assert delivery.next_attempt_at is None
        assert "500" in delivery.last_response and "command failed" in delivery.last_response
        attempt = Attempt.objects.get(delivery=delivery)
        assert attempt.permanent and attempt.smtp_code == 500 and "5.3.0 Error: command failed" in attempt.response
    mailing.refresh_from_db()
    assert not mailing.is_paused, "a recipient's refusal is not the sender's"


def test_5xx_after_data_fails_only_that_recipient(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    mailing = make_mailing(3)
    rejected = mailing.subscribed_clients[1].email
    smtp_server.refuse[rejected] = "554 5.7.1 message rejected as spam"

    run, progress = send_now(mailing, in_workspace)

    assert progress.state == "done"
    assert dict(Delivery.objects.filter(run=run).values_list("email", "status")) == {
        c.email: "failed" if c.email == rejected else "sent" for c in mailing.subscribed_clients
    }
    mailing.refresh_from_db()
    assert not mailing.is_paused


def test_greylisting_retries_each_recipient_and_leaves_the_breaker_closed(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    greylisting = smtp_sink("-r", "RCPT")  # 450 on every recipient: one domain's greylisting, not a sick provider
    engine_settings(greylisting.port).DELIVERY_SMTP_TIMEOUT = 5.0  # the breaker opens after 3 provider faults
    mailing = make_mailing(10)

    run, progress = send_now(mailing, in_workspace)

    assert engine.breaker_for("platform").state() == "closed"
    assert Attempt.objects.filter(delivery__run=run, smtp_code=450).count() == 10, "every recipient was tried"
    assert Delivery.objects.filter(run=run, status="pending", attempt_count=1).count() == 10
    assert progress.state == "waiting" and progress.summary.retried == 10


# A 421 (at DATA or anywhere) is a throttling answer since issue 15: it slows the provider down instead
# (tenant_apps/senders/tests/test_engine_senders.py::test_throttling_answers_slow_the_provider_...).
@pytest.mark.parametrize("refusal", ["-r"], ids=["4xx at MAIL FROM"])
def test_provider_faults_other_than_a_dead_server_open_the_breaker(
    in_workspace, engine_settings, smtp_sink, make_mailing, refusal
):
    sick = smtp_sink(refusal, "MAIL")
    engine_settings(sick.port).DELIVERY_SMTP_TIMEOUT = 5.0
    mailing = make_mailing(10)

    run, progress = send_now(mailing, in_workspace)

    assert engine.breaker_for("platform").state() == "open"
    assert Attempt.objects.filter(delivery__run=run).count() == 3
    assert Delivery.objects.filter(run=run, attempt_count=0, status="pending").count() == 7
    assert progress.state == "waiting"


def test_5xx_at_mail_from_pauses_the_mailing_keeps_every_delivery_and_tells_the_owners(
    in_workspace,
    engine_settings,
    smtp_sink,
    smtp_server,
    make_mailing,
    member_factory,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    owner = member_factory(in_workspace, "owner", email="owner@example.com")
    member_factory(in_workspace, "editor", email="editor@example.com")
    refusing = smtp_sink("-f", "MAIL")  # 500 on MAIL FROM: the provider refuses our sender
    engine_settings(refusing.port).DELIVERY_SMTP_TIMEOUT = 5.0
    mailing = make_mailing(20)  # three batches of 7

    with django_capture_on_commit_callbacks(execute=True):
        run, progress = send_now(mailing, in_workspace)

    assert progress.state == "paused"
    assert statuses(run) == {"pending": 20}
    assert not Delivery.objects.filter(run=run).exclude(attempt_count=0).exists(), "no retry was spent"
    (attempt,) = Attempt.objects.filter(delivery__run=run)
    assert attempt.smtp_code == 500 and not attempt.permanent, "the one try is logged"
    mailing.refresh_from_db()
    assert mailing.is_paused and mailing.pause_reason == "sender_refused"
    assert mailing.pause_detail == "MAIL FROM: 500 5.3.0 Error: command failed"
    (notice,) = mailoutbox
    assert notice.to == [owner.email] and mailing.name in notice.subject
    assert "500 5.3.0 Error: command failed" in notice.body
    assert f"//{in_workspace.host}" in notice.body and f"/mailings/{mailing.pk}/" in notice.body
    assert engine.process_run(run, in_workspace).state == "paused", "nothing more is tried"
    assert Attempt.objects.filter(delivery__run=run).count() == 1

    engine_settings(smtp_server.port)  # the owner fixed the account
    from tenant_apps.campaigns.services import resume_mailing

    with django_capture_on_commit_callbacks(execute=True):
        resume_mailing(mailing)  # resumes through the queue (huey runs inline in tests)

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients)
    assert statuses(run) == {"sent": 20}
    mailing.refresh_from_db()
    assert not mailing.is_paused and mailing.pause_reason == "" and mailing.pause_detail == ""


def test_retries_stop_at_the_mailings_end(in_workspace, engine_settings, smtp_sink, make_mailing):
    greylisting = smtp_sink("-r", "RCPT")
    engine_settings(greylisting.port)
    now = timezone.now()
    mailing = make_mailing(1, end=now + dt.timedelta(seconds=30))  # sooner than the first retry

    run, progress = send_now(mailing, in_workspace)

    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "failed" and "ended" in delivery.last_response
    assert progress.state == "done"


def test_server_down_trips_the_breaker_then_everything_is_sent_when_it_is_back(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    from tenant_apps.delivery.tests.conftest import free_port

    port = free_port()  # nothing listens there: connection refused
    engine_settings(port)
    mailing = make_mailing(10)

    run, progress = send_now(mailing, in_workspace)

    # Three refused connections open the breaker; the other seven keep their retries.
    assert progress.state == "waiting"
    assert Attempt.objects.filter(delivery__run=run).count() == 3
    assert Delivery.objects.filter(run=run, attempt_count=0, status="pending").count() == 7
    breaker = engine.breaker_for("platform")  # the breaker is per provider (the platform relay here)
    assert breaker.state() == "open"
    assert engine.process_run(run, in_workspace).summary.handled == 0, "nothing is tried while open"

    smtp_sink(port=port)
    later = timezone.now() + dt.timedelta(hours=1)  # past the cooldown and every backoff
    with time_machine.travel(later):
        assert breaker.state() == "half-open"
        progress = engine.process_run(run, in_workspace)  # a probe, then the rest
        assert breaker.state() == "closed"

    assert progress.state == "done"
    assert statuses(run) == {"sent": 10}


def test_failed_probe_reopens_the_breaker_for_longer(in_workspace, engine_settings):
    engine_settings(1)
    breaker = CircuitBreaker("probe-test", threshold=2, cooldown=10, max_cooldown=100)
    clock = [1000.0]
    breaker.clock = lambda: clock[0]
    breaker.record_failure()
    assert breaker.permit().allowed
    breaker.record_failure()
    assert not breaker.permit().allowed and breaker.state() == "open"
    clock[0] += 11
    probe = breaker.permit()
    assert probe.allowed and probe.probe
    assert not breaker.permit().allowed, "only one worker probes"
    breaker.record_failure(probe=True)
    clock[0] += 11
    assert breaker.state() == "open", "the second pause is twice as long"
    clock[0] += 10
    assert breaker.permit().probe
    breaker.record_success()
    assert breaker.state() == "closed" and breaker.permit().allowed


def test_disconnect_mid_batch_the_rest_is_still_sent(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    mailing = make_mailing(7)  # one batch of seven
    dropped = mailing.subscribed_clients[2].email
    smtp_server.drop.add(dropped)  # the server hangs up at this message's DATA

    run, progress = send_now(mailing, in_workspace)

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients if c.email != dropped)
    assert len(smtp_server.sessions) == 2, "a fresh connection after the drop"
    delivery = Delivery.objects.get(run=run, email=dropped)
    assert delivery.status == "pending" and delivery.attempt_count == 1 and progress.state == "waiting"

    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
        engine.process_run(run, in_workspace)
    assert Counter(smtp_server.recipients)[dropped] == 1
    assert statuses(run) == {"sent": 7}


def test_paused_mailing_stops_sending_and_resumes_when_unpaused(
    in_workspace, engine_settings, smtp_server, make_mailing, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    mailing = make_mailing(4)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    campaigns.pause_mailing(mailing)

    assert engine.process_run(run, in_workspace).state == "paused"
    assert smtp_server.recipients == []

    with django_capture_on_commit_callbacks(execute=True):
        campaigns.resume_mailing(mailing)  # resumes through the queue (huey runs inline in tests)

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients)
    run.refresh_from_db()
    assert run.status == "done"


def test_a_delivery_claimed_by_another_worker_is_not_sent_twice(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    mailing = make_mailing(5)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    now = timezone.now()
    theirs = engine.claim_batch(run, "other-worker", 2, now)

    progress = engine.process_run(run, in_workspace)

    assert progress.state == "busy", "the rest belongs to a live worker"
    # The claim takes any two (LIMIT without ORDER BY: heap order), not necessarily the first two.
    theirs_emails = {c.email for c in theirs}
    assert sorted(smtp_server.recipients) == sorted(
        c.email for c in mailing.subscribed_clients if c.email not in theirs_emails
    )
    assert len(smtp_server.recipients) == 3
    still_sending = Delivery.objects.filter(run=run, status="sending").values_list("id", flat=True)
    assert {c.id for c in theirs} == set(still_sending)


def test_a_stale_claim_is_taken_back_and_a_journalled_send_is_not_repeated(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port).DELIVERY_CLAIM_TIMEOUT = 60
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    dead = engine.claim_batch(run, "dead-worker", 3, timezone.now())
    # The dead worker had sent the first message (journalled) before it was killed.
    journal = engine.SentJournal(connection.schema_name, run.pk)
    assert journal.record(dead[0].id, timezone.now(), 250, "2.0.0 Ok: queued as DEAD")
    journal.settle()

    assert engine.process_run(run, in_workspace).state == "busy"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        progress = engine.process_run(run, in_workspace)

    assert progress.state == "done"
    # Delivery ids follow the clients' heap order, not their creation order: compare by the journalled one.
    assert sorted(smtp_server.recipients) == sorted(
        c.email for c in mailing.subscribed_clients if c.email != dead[0].email
    )
    assert statuses(run) == {"sent": 3}
    recovered = Attempt.objects.get(delivery_id=dead[0].id)
    assert recovered.status == "success" and "queued as DEAD" in recovered.response


@pytest.mark.parametrize("attempts, low, high", [(1, 48, 72), (3, 192, 288), (20, 2880, 4320)])
def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings, attempts, low, high):
    settings.DELIVERY_RETRY_BASE, settings.DELIVERY_RETRY_MAX_DELAY, settings.DELIVERY_RETRY_JITTER = 60, 3600, 0.2
    delays = {engine.retry_delay(attempts) for _ in range(50)}
    assert all(low <= d <= high for d in delays) and len(delays) > 1


def test_the_sent_journal_round_trips_through_redis(db):
    journal = engine.SentJournal("ws_journal_test", 1)
    at = timezone.now()
    assert journal.record(7, at, 250, "2.0.0 Ok: queued as X|Y")
    assert journal.record(8, at, 250, "2.0.0 Ok")
    journal.settle()
    found = journal.lookup([7, 8, 9])
    assert set(found) == {7, 8} and found[7][1:] == (250, "2.0.0 Ok: queued as X|Y")
    assert abs(found[7][0] - at.timestamp()) < 1e-3
    journal.forget([7])
    assert set(journal.lookup([7, 8])) == {8}
    journal.drop()
    assert journal.lookup([8]) == {}


def test_nothing_goes_out_after_the_mailings_end(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    end = timezone.now() + dt.timedelta(minutes=10)
    mailing = make_mailing(4, end=end)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)

    with time_machine.travel(end + dt.timedelta(seconds=1)):
        progress = engine.process_run(run, in_workspace)

    assert smtp_server.recipients == [] and progress.state == "done"
    assert statuses(run) == {"failed": 4}
    assert all("ended" in r for r in Delivery.objects.filter(run=run).values_list("last_response", flat=True))
    assert not Attempt.objects.filter(delivery__run=run).exists(), "no attempt was made"


def test_a_breaker_opened_by_another_worker_stops_this_one_at_its_next_failure(in_workspace, engine_settings):
    engine_settings(1)
    mine = CircuitBreaker("shared-test", threshold=5, cooldown=10, max_cooldown=100)
    theirs = CircuitBreaker("shared-test", threshold=5, cooldown=10, max_cooldown=100)
    for _ in range(5):
        theirs.record_failure()
    assert mine.state() == "open"
    assert mine.record_failure() is True

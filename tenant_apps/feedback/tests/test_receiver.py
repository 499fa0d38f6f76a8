"""Bounces and complaints fed through the real bounce receiver over TCP, the queue and the consumer's code."""

import smtplib

import pytest
from django.db import connection

from shared_apps.deliverability.models import DroppedFeedback
from tenant_apps.delivery.models import Delivery
from tenant_apps.feedback.models import FeedbackEvent, Suppression
from tenant_apps.feedback.verp import return_path

from .conftest import sample, send_to
from .test_verp_and_parsing import CASES

pytestmark = pytest.mark.django_db


def events_in(workspace):
    connection.set_tenant(workspace)
    return list(FeedbackEvent.objects.select_related("delivery").order_by("id"))


@pytest.mark.parametrize(("name", "kind", "status", "mta", "diagnostic"), CASES)
def test_each_format_becomes_the_right_event_on_the_right_delivery(
    bounce_server, sent_run, workspace, name, kind, status, mta, diagnostic
):
    _run, deliveries = sent_run(3, workspace)
    target = deliveries[1]
    address = return_path(workspace.pk, target.pk)
    send_to(bounce_server, address, sample(name, return_path=address, recipient=target.email))
    assert len(bounce_server.queue) == 1  # queued, not parsed, in the SMTP session
    bounce_server.queue.drain()
    [event] = events_in(workspace)
    assert event.delivery_id == target.pk
    assert (event.kind, event.status_code, event.reporting_mta, event.source) == (kind, status, mta, "smtp")
    assert diagnostic in event.diagnostic
    assert event.raw.startswith(sample(name, return_path=address, recipient=target.email).decode()[:40])
    target.refresh_from_db()
    assert target.status == ("complained" if kind == "complaint" else "bounced")


def test_a_bounce_naming_workspace_a_never_touches_workspace_b(bounce_server, sent_run, workspace, other_workspace):
    _run_b, b_deliveries = sent_run(3, other_workspace, prefix="b")
    _run_a, a_deliveries = sent_run(3, workspace, prefix="a")
    # Same delivery id in both schemas is likely; the token's workspace decides.
    address = return_path(workspace.pk, a_deliveries[0].pk)
    send_to(bounce_server, address, sample("postfix_unknown_user.eml", return_path=address, recipient="x@y.z"))
    bounce_server.queue.drain()
    assert [e.delivery_id for e in events_in(workspace)] == [a_deliveries[0].pk]
    assert events_in(other_workspace) == []
    assert not Suppression.objects.exists()  # still in globex's schema
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_forged_token_is_dropped_and_counted_never_acted_on(bounce_server, sent_run, workspace):
    _run, deliveries = sent_run(2, workspace)
    genuine = return_path(workspace.pk, deliveries[0].pk)
    forged = genuine.replace(genuine.split("-")[1], "zz")  # another delivery id, same MAC
    send_to(bounce_server, forged, sample("postfix_unknown_user.eml", return_path=forged, recipient="x@y.z"))
    bounce_server.queue.drain()
    assert events_in(workspace) == []
    assert DroppedFeedback.objects.get(reason="forged or missing token").count == 1


def test_token_of_a_deleted_workspace_is_dropped(bounce_server):
    address = return_path(999_999, 1)
    send_to(bounce_server, address, sample("gmail_dsn.eml", return_path=address, recipient="x@y.z"))
    bounce_server.queue.drain()
    assert DroppedFeedback.objects.get(reason="unknown workspace").count == 1


def test_a_complaint_sent_to_the_bare_address_is_matched_by_the_quoted_return_path(bounce_server, sent_run, workspace):
    _run, deliveries = sent_run(2, workspace)
    address = return_path(workspace.pk, deliveries[1].pk)
    raw = sample("yahoo_arf_complaint.eml", return_path=address, recipient=deliveries[1].email)
    send_to(bounce_server, "bounces@bounces.rassylka.test", raw)
    bounce_server.queue.drain()
    [event] = events_in(workspace)
    assert (event.kind, event.delivery_id) == ("complaint", deliveries[1].pk)


def test_a_message_that_is_no_bounce_is_dropped_and_counted(bounce_server):
    raw = b"From: a@b.c\r\nTo: bounces@bounces.rassylka.test\r\nSubject: hi\r\n\r\nHello\r\n"
    send_to(bounce_server, "bounces@bounces.rassylka.test", raw)
    bounce_server.queue.drain()
    assert DroppedFeedback.objects.get(reason="not a bounce").count == 1


def test_other_recipients_are_refused_at_rcpt(bounce_server):
    with smtplib.SMTP(bounce_server.hostname, bounce_server.port, local_hostname="localhost", timeout=5) as smtp:
        smtp.ehlo()
        smtp.mail("")
        for rcpt in ("postmaster@bounces.rassylka.test", "someone@example.com", "bounces+x@other.test"):
            code, _reply = smtp.rcpt(rcpt)
            assert code == 550
    assert len(bounce_server.queue) == 0


def test_messages_over_the_size_limit_are_refused(bounce_server):
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 250  # ~250 KB over the fixture's 200 KB
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        send_to(bounce_server, "bounces@bounces.rassylka.test", big)
    assert refused.value.smtp_code == 552
    assert len(bounce_server.queue) == 0


def test_queue_down_gives_a_temporary_refusal(bounce_server, settings, monkeypatch):
    from huey.contrib.djhuey import HUEY

    def queue_is_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    # A fault we cannot produce otherwise without stopping the shared Redis.
    monkeypatch.setattr(HUEY.storage, "enqueue", queue_is_down)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_to(bounce_server, "bounces@bounces.rassylka.test", b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.smtp_code == 451


def test_the_same_bounce_twice_records_two_events_and_one_suppression(bounce_server, sent_run, workspace):
    _run, deliveries = sent_run(1, workspace)
    address = return_path(workspace.pk, deliveries[0].pk)
    raw = sample("postfix_unknown_user.eml", return_path=address, recipient=deliveries[0].email)
    send_to(bounce_server, address, raw)
    send_to(bounce_server, address, raw)
    bounce_server.queue.drain()
    assert len(events_in(workspace)) == 2
    assert list(Suppression.objects.values_list("email", flat=True)) == [deliveries[0].email.lower()]


# --- a real Postfix bouncing a real message -------------------------------------------------------


@pytest.fixture
def local_postfix(bounce_server):
    import shutil
    import tempfile

    from . import postfix
    from .conftest import free_port

    reason = postfix.available()
    if reason:
        pytest.skip(f"no private Postfix here: {reason}")
    # Not pytest's tmp_path: its parents are private to root, and Postfix's daemons run as `postfix`.
    root = tempfile.mkdtemp(prefix="rassylka-postfix-")
    instance = postfix.PrivatePostfix(root, free_port(), "bounces.rassylka.test", bounce_server.port)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_local_postfix_bounce_for_an_unknown_user_is_recorded_on_the_delivery(
    in_workspace, engine_settings, make_mailing, local_postfix, bounce_server
):
    """The engine sends through Postfix to a user that does not exist; Postfix's own DSN comes back."""
    import time

    from tenant_apps.audience.models import Client
    from tenant_apps.delivery import engine, services

    engine_settings(local_postfix.port)
    mailing = make_mailing(0)
    Client.objects.create(email="no-such-user@mail.rassylka.test")
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.process_run(run, in_workspace)
    deadline = time.monotonic() + 20
    while not len(bounce_server.queue) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(bounce_server.queue) == 1, local_postfix.log()
    bounce_server.queue.drain()
    connection.set_tenant(in_workspace)
    [event] = FeedbackEvent.objects.all()
    delivery = Delivery.objects.get(run=run)
    assert (event.delivery_id, event.kind, event.status_code, event.reporting_mta) == (
        delivery.pk,
        "hard",
        "5.1.1",
        "mx.mail.rassylka.test",
    )
    assert 'unknown user: "no-such-user"' in event.diagnostic
    assert delivery.status == "bounced"
    assert Suppression.objects.filter(email="no-such-user@mail.rassylka.test").exists()


def test_many_sessions_at_once_are_all_queued_and_recorded(bounce_server, sent_run, workspace):
    import threading

    _run, deliveries = sent_run(40, workspace)

    def session(chunk):
        with smtplib.SMTP(bounce_server.hostname, bounce_server.port, local_hostname="localhost", timeout=5) as smtp:
            for delivery in chunk:
                address = return_path(workspace.pk, delivery.pk)
                smtp.sendmail("", [address], sample("gmail_dsn.eml", return_path=address, recipient=delivery.email))

    threads = [threading.Thread(target=session, args=(deliveries[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bounce_server.handler.accepted == 40
    assert 1 <= len(bounce_server.queue) <= 40  # messages arriving together share a task
    bounce_server.queue.drain()
    assert sorted(e.delivery_id for e in events_in(workspace)) == sorted(d.pk for d in deliveries)


def test_one_task_with_several_workspaces_and_a_forgery_records_each_in_its_own_schema(
    sent_run, workspace, other_workspace, settings
):
    from tenant_apps.feedback.tasks import handle_bounces

    settings.BOUNCE_DOMAIN = "bounces.rassylka.test"
    _run_b, (b,) = sent_run(1, other_workspace, prefix="b")
    _run_a, (a,) = sent_run(1, workspace, prefix="a")
    messages = []
    for ws, delivery in ((workspace, a), (other_workspace, b)):
        address = return_path(ws.pk, delivery.pk)
        messages.append((address, sample("exim_plain.eml", return_path=address, recipient=delivery.email)))
    forged = messages[0][0].replace("@", "x@")
    messages.append((forged, messages[0][1].replace(b"bounces+", b"nobody+")))
    handle_bounces(messages)
    assert [e.delivery_id for e in events_in(workspace)] == [a.pk]
    assert [e.delivery_id for e in events_in(other_workspace)] == [b.pk]
    connection.set_schema_to_public()
    assert DroppedFeedback.objects.get(reason="forged or missing token").count == 1

"""Sending to a real local HTTPS receiver: signatures, batches, retries, timeouts, giving up, disabling."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from tenant_apps.webhooks import events, services
from tenant_apps.webhooks.models import Attempt, Endpoint, Message, OutboxEvent
from tenant_apps.webhooks.sender import send_endpoint

UNSUBSCRIBED = "client.unsubscribed"


def unsubscribes(count, start=0):
    return [{"client_id": i, "email": f"c{i}@example.com"} for i in range(start, start + count)]


def make_endpoint(receiver, types=(UNSUBSCRIBED,)):
    return services.create_endpoint(receiver.url(), list(types))


def make_due_now(endpoint):
    Message.objects.filter(endpoint=endpoint, status="pending").update(next_attempt_at=timezone.now())


def test_events_arrive_in_one_signed_batch_that_standardwebhooks_verifies(in_workspace, receiver):
    endpoint, secret = make_endpoint(receiver)
    events.emit(UNSUBSCRIBED, unsubscribes(3))

    outcome = send_endpoint(endpoint.pk)

    assert outcome.delivered == 1
    (request,) = receiver.requests
    verified = Webhook(secret).verify(request.body, request.headers)
    assert verified["type"] == "batch"
    assert [e["type"] for e in verified["events"]] == [UNSUBSCRIBED] * 3
    assert [e["data"]["email"] for e in verified["events"]] == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert all(e["id"].startswith("evt_") for e in verified["events"])
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    attempt = Attempt.objects.get(endpoint=endpoint)
    assert attempt.succeeded and attempt.status_code == 200 and attempt.response_ms is not None
    assert Message.objects.get(endpoint=endpoint).status == "delivered"


def test_a_signature_made_with_another_secret_does_not_verify(in_workspace, receiver):
    from standardwebhooks.webhooks import WebhookVerificationError

    endpoint, _secret = make_endpoint(receiver)
    events.emit(UNSUBSCRIBED, unsubscribes(1))
    send_endpoint(endpoint.pk)

    (request,) = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(services.signing.new_secret()).verify(request.body, request.headers)


def test_many_events_are_split_into_batches_each_event_sent_once(in_workspace, receiver, settings):
    settings.WEBHOOKS_BATCH_SIZE = 10
    endpoint, secret = make_endpoint(receiver)
    events.emit(UNSUBSCRIBED, unsubscribes(25))

    send_endpoint(endpoint.pk)

    assert [len(r.document["events"]) for r in receiver.requests] == [10, 10, 5]
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == len(set(ids)) == 25
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)


def test_a_500_is_retried_later_with_the_same_id_and_body_and_growing_backoff(in_workspace, receiver):
    endpoint, secret = make_endpoint(receiver)
    receiver.answers = [500, 500]
    events.emit(UNSUBSCRIBED, unsubscribes(2))

    first = send_endpoint(endpoint.pk)
    message = Message.objects.get(endpoint=endpoint)
    first_wait = (message.next_attempt_at - timezone.now()).total_seconds()
    make_due_now(endpoint)
    send_endpoint(endpoint.pk)
    message.refresh_from_db()
    second_wait = (message.next_attempt_at - timezone.now()).total_seconds()
    make_due_now(endpoint)
    send_endpoint(endpoint.pk)

    assert first.failed == 1 and first.next_due is not None
    assert 3 < first_wait < 6 and 8 < second_wait < 12, "5 s, then 10 s (±10 %)"
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    assert [a.status_code for a in Attempt.objects.filter(endpoint=endpoint).order_by("id")] == [500, 500, 200]
    message.refresh_from_db()
    assert message.status == "delivered" and message.attempts == 3
    assert len(receiver.events()) == 2


def test_a_failed_message_holds_back_the_later_ones_until_its_retry(in_workspace, receiver, settings):
    settings.WEBHOOKS_BATCH_SIZE = 1
    endpoint, _secret = make_endpoint(receiver)
    receiver.answers = [503]
    events.emit(UNSUBSCRIBED, unsubscribes(3))

    send_endpoint(endpoint.pk)
    assert len(receiver.requests) == 1, "no hammering of a receiver that just failed"
    make_due_now(endpoint)
    send_endpoint(endpoint.pk)

    assert [e["data"]["client_id"] for e in receiver.events()] == [0, 1, 2]


def test_a_timeout_is_logged_and_retried(in_workspace, receiver):
    endpoint, secret = make_endpoint(receiver)
    receiver.answers = ["slow"]
    events.emit(UNSUBSCRIBED, unsubscribes(1))

    send_endpoint(endpoint.pk)
    failed = Attempt.objects.get(endpoint=endpoint)
    make_due_now(endpoint)
    send_endpoint(endpoint.pk)

    assert not failed.succeeded and failed.error == "timeout" and failed.status_code is None
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    assert Message.objects.get(endpoint=endpoint).status == "delivered"


def test_nothing_is_sent_twice_across_rounds(in_workspace, receiver):
    endpoint, _secret = make_endpoint(receiver)
    events.emit(UNSUBSCRIBED, unsubscribes(2))
    send_endpoint(endpoint.pk)
    events.emit(UNSUBSCRIBED, unsubscribes(2, start=2))
    send_endpoint(endpoint.pk)
    send_endpoint(endpoint.pk)

    ids = [e["id"] for e in receiver.events()]
    assert len(receiver.requests) == 2 and len(ids) == len(set(ids)) == 4


def test_each_endpoint_gets_the_event_with_the_same_event_id(in_workspace, receiver):
    first, _s1 = make_endpoint(receiver)
    second, _s2 = services.create_endpoint(receiver.url("/other"), [UNSUBSCRIBED, "client.subscribed"])
    events.emit(UNSUBSCRIBED, unsubscribes(1))

    send_endpoint(first.pk)
    send_endpoint(second.pk)

    one, two = receiver.requests
    assert one.document["events"][0]["id"] == two.document["events"][0]["id"]
    assert one.headers["webhook-id"] != two.headers["webhook-id"]


def test_an_endpoint_gets_only_the_events_it_chose(in_workspace, receiver):
    endpoint, _secret = make_endpoint(receiver, types=["client.subscribed"])

    assert events.emit(UNSUBSCRIBED, unsubscribes(1)) == 0
    assert not OutboxEvent.objects.filter(endpoint=endpoint).exists()


def test_a_message_is_given_up_after_24_hours_of_retries(in_workspace, receiver):
    endpoint, _secret = make_endpoint(receiver)
    receiver.answers = [500] * 10
    start = timezone.now()
    events.emit(UNSUBSCRIBED, unsubscribes(1))
    send_endpoint(endpoint.pk)

    with time_machine.travel(start + dt.timedelta(hours=23, minutes=59)):
        make_due_now(endpoint)
        send_endpoint(endpoint.pk)
        message = Message.objects.get(endpoint=endpoint)
        assert message.status == "pending"
        assert message.next_attempt_at <= start + dt.timedelta(hours=24, seconds=1), "the last retry at 24 h"
    with time_machine.travel(start + dt.timedelta(hours=24, minutes=1)):
        send_endpoint(endpoint.pk)

    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 3


def test_an_endpoint_failing_for_24_hours_is_disabled_and_its_owners_emailed(
    in_workspace, receiver, member_factory, mailoutbox, django_capture_on_commit_callbacks
):
    owner = member_factory(in_workspace, "owner")
    member_factory(in_workspace, "editor")
    endpoint, _secret = make_endpoint(receiver)
    receiver.answers = [500] * 10
    start = timezone.now()
    events.emit(UNSUBSCRIBED, unsubscribes(1))
    send_endpoint(endpoint.pk)

    with time_machine.travel(start + dt.timedelta(hours=23)):
        make_due_now(endpoint)
        send_endpoint(endpoint.pk)
        assert Endpoint.objects.get(pk=endpoint.pk).is_enabled
    with (
        time_machine.travel(start + dt.timedelta(hours=24, minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        make_due_now(endpoint)
        outcome = send_endpoint(endpoint.pk)

    endpoint.refresh_from_db()
    assert outcome.disabled and not endpoint.is_enabled and endpoint.disabled_reason
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert endpoint.url in mailoutbox[0].subject
    assert f"/webhooks/{endpoint.pk}/" in mailoutbox[0].body
    assert events.emit(UNSUBSCRIBED, unsubscribes(1)) == 0, "a disabled endpoint gets no new events"


def test_a_success_ends_the_failing_period(in_workspace, receiver):
    endpoint, _secret = make_endpoint(receiver)
    receiver.answers = [500]
    events.emit(UNSUBSCRIBED, unsubscribes(1))
    send_endpoint(endpoint.pk)
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is not None

    make_due_now(endpoint)
    send_endpoint(endpoint.pk)

    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_a_committed_event_wakes_the_sender_through_the_queue(
    in_workspace, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(receiver)

    with django_capture_on_commit_callbacks(execute=True):
        events.emit(UNSUBSCRIBED, unsubscribes(1))

    assert len(receiver.events()) == 1


def test_a_second_sender_stays_out_while_the_first_holds_the_endpoint(in_workspace, receiver):
    from tenant_apps.webhooks.sender import take_lease

    endpoint, _secret = make_endpoint(receiver)
    events.emit(UNSUBSCRIBED, unsubscribes(1))
    assert take_lease(endpoint.pk, timezone.now())

    outcome = send_endpoint(endpoint.pk)

    assert outcome.busy and receiver.requests == []

"""Each source emits its events, in its own transaction, and nothing when no endpoint wants them."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saas import factories
from tenant_apps.audience import services as audience
from tenant_apps.audience.models import Client
from tenant_apps.delivery import engine, services
from tenant_apps.delivery.unsubscribe import resubscribe_client, unsubscribe_client
from tenant_apps.engagement import drain
from tenant_apps.feedback import services as feedback
from tenant_apps.feedback.incoming import Incoming
from tenant_apps.webhooks import events
from tenant_apps.webhooks import services as webhooks
from tenant_apps.webhooks.models import EVENT_TYPES, OutboxEvent
from tenant_apps.webhooks.sender import send_endpoint

ALL_TYPES = [name for name, _label in EVENT_TYPES]


def subscribe_all(url="https://127.0.0.1:9/hook"):
    endpoint, secret = webhooks.create_endpoint(url, ALL_TYPES)
    return endpoint, secret


def emitted(event_type):
    return [row.payload for row in OutboxEvent.objects.filter(type=event_type).order_by("id")]


def send_now(mailing, workspace):
    runs = services.prepare_due_runs(mailing, workspace=workspace)
    for run in runs:
        engine.process_run(run, workspace)
    return runs[0]


def test_a_real_smtp_send_emits_delivery_sent_and_run_completed(
    in_workspace, engine_settings, smtp_server, make_mailing, receiver
):
    from standardwebhooks.webhooks import Webhook

    engine_settings(smtp_server.port)
    endpoint, secret = subscribe_all(receiver.url())
    mailing = make_mailing(9)

    run = send_now(mailing, in_workspace)
    sent = emitted("delivery.sent")  # read before the sender moves them into messages
    (completed,) = emitted("run.completed")
    send_endpoint(endpoint.pk)

    assert sorted(p["email"] for p in sent) == sorted(smtp_server.recipients)
    assert {p["run_id"] for p in sent} == {run.pk} and {p["mailing_id"] for p in sent} == {mailing.pk}
    assert all("Ok" in p["response"] or "250" in p["response"] for p in sent)
    assert completed["run_id"] == run.pk and completed["sent"] == 9 and completed["failed"] == 0
    received = receiver.events()
    assert len(received) == 10 and len({e["id"] for e in received}) == 10
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)


def test_a_refused_recipient_emits_delivery_failed(in_workspace, engine_settings, smtp_sink, make_mailing):
    refusing = smtp_sink("-f", "RCPT")
    engine_settings(refusing.port).DELIVERY_SMTP_TIMEOUT = 5.0
    subscribe_all()
    mailing = make_mailing(2)

    send_now(mailing, in_workspace)

    failed = emitted("delivery.failed")
    assert len(failed) == 2 and all("500" in p["response"] for p in failed)
    assert emitted("delivery.sent") == []


def test_bounces_and_complaints_emit_their_events_and_the_complainer_is_unsubscribed(in_workspace):
    subscribe_all()
    mailing = factories.make_mailing()
    run = factories.make_run(mailing)
    bounced = factories.make_delivery(run, "sent")
    complained = factories.make_delivery(run, "sent")

    feedback.record_events(
        [
            Incoming("hard", "smtp", delivery_id=bounced.pk, status_code="5.1.1", diagnostic="no such user"),
            Incoming("complaint", "ses", delivery_id=complained.pk),
        ]
    )

    (bounce,) = emitted("delivery.bounced")
    assert bounce["delivery_id"] == bounced.pk and bounce["kind"] == "hard" and bounce["status_code"] == "5.1.1"
    (complaint,) = emitted("delivery.complained")
    assert complaint["delivery_id"] == complained.pk and complaint["email"] == complained.email
    assert [p["client_id"] for p in emitted("client.unsubscribed")] == [complained.client_id]


def test_people_opening_and_clicking_emit_events_and_scanners_do_not(in_workspace):
    from tenant_apps.engagement.models import Link

    subscribe_all()
    mailing = factories.make_mailing()
    run = factories.make_run(mailing)
    delivery = factories.make_delivery(run, "sent", finished_at=timezone.now() - dt.timedelta(minutes=5))
    link = Link.objects.create(run=run, number=1, url="https://example.com/offer")
    now_ms = int(timezone.now().timestamp() * 1000)
    entries = [
        drain.Entry(now_ms << 20, now_ms, "acme", "open", delivery.pk, None, "", "", ""),
        drain.Entry((now_ms << 20) + 1, now_ms, "acme", "click", delivery.pk, link.pk, "", "", ""),
        drain.Entry((now_ms << 20) + 2, now_ms, "acme", "open", delivery.pk, None, "", "", "proxy"),
    ]

    drain.write_workspace(connection.schema_name, entries)
    drain.write_workspace(connection.schema_name, entries)  # drained again: no new hits, no new events

    (opened,) = emitted("delivery.opened")
    (clicked,) = emitted("delivery.clicked")
    assert opened["delivery_id"] == delivery.pk and opened["mailing_id"] == mailing.pk
    assert clicked["url"] == "https://example.com/offer" and clicked["client_id"] == delivery.client_id


def test_subscription_changes_emit_client_events(in_workspace):
    subscribe_all()
    client = audience.save_client(Client(email="new@example.com"))
    unsubscribe_client(client)
    unsubscribe_client(client)  # again: no change, no event
    resubscribe_client(client)
    client.is_subscribed = False
    audience.save_client(client)
    client.full_name = "Renamed"
    audience.save_client(client)  # no change of state: no event

    assert [p["email"] for p in emitted("client.subscribed")] == ["new@example.com"] * 2
    assert [p["client_id"] for p in emitted("client.unsubscribed")] == [client.pk] * 2


def test_an_import_emits_client_subscribed_for_new_clients_only(in_workspace):
    subscribe_all()
    factories.make_client("old@example.com")

    audience.insert_new_clients(
        [{"email": e, "full_name": "", "comment": ""} for e in ("old@example.com", "a@example.com", "b@example.com")]
    )

    assert sorted(p["email"] for p in emitted("client.subscribed")) == ["a@example.com", "b@example.com"]


def test_without_endpoints_the_engine_hot_path_costs_no_query(in_workspace):
    events.subscriptions()  # the cache is warm, as it is after the first batch

    with CaptureQueriesContext(connection) as queries:
        events.delivery_outcomes(sent_ids=[1, 2, 3], failed_ids=[4])
        events.engagement_hits([1, 2])
        events.subscription_changed([(1, "a@example.com")], subscribed=False)

    assert len(queries) == 0


def test_an_endpoint_change_is_seen_by_the_next_emission(in_workspace):
    assert events.emit("client.unsubscribed", [{"client_id": 1}]) == 0
    endpoint, _secret = webhooks.create_endpoint("https://127.0.0.1:9/hook", ["client.unsubscribed"])
    assert events.emit("client.unsubscribed", [{"client_id": 1}]) == 1
    webhooks.update_endpoint(endpoint, url=endpoint.url, event_types=["client.subscribed"], description="")
    assert events.emit("client.unsubscribed", [{"client_id": 1}]) == 0


def test_events_roll_back_with_what_they_report(in_workspace):
    from django.db import transaction

    subscribe_all()
    try:
        with transaction.atomic():
            unsubscribe_client(factories.make_client())
            raise RuntimeError
    except RuntimeError:
        pass

    assert emitted("client.unsubscribed") == []

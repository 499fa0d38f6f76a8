"""What bounces and complaints do: delivery statuses, suppressions, unsubscribes, and the engine skipping them."""

import datetime as dt

import pytest
from django.utils import timezone

from tenant_apps.audience.models import Client, ImportJob
from tenant_apps.audience.services import run_import
from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Delivery
from tenant_apps.feedback.incoming import Incoming
from tenant_apps.feedback.models import FeedbackEvent, FeedbackSettings, Suppression
from tenant_apps.feedback.services import lift_suppression, purge_raw, record_events
from tenant_apps.feedback.verp import read_token, token_of

pytestmark = pytest.mark.django_db


def bounce(delivery, kind="hard", when=None, **extra):
    return Incoming(kind=kind, source="smtp", delivery_id=delivery.pk, occurred_at=when, **extra)


def test_hard_bounce_marks_the_delivery_bounced_and_suppresses_at_once(in_workspace, sent_run):
    _run, (first, second) = sent_run(2)
    outcome = record_events([bounce(first, status_code="5.1.1")])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("bounced", "sent")
    assert outcome.recorded == 1
    assert list(Suppression.objects.values_list("email", "reason")) == [(first.email, "hard")]


def test_soft_bounces_suppress_only_at_the_third_within_thirty_days(in_workspace, sent_run):
    _run, deliveries = sent_run(3)
    now = timezone.now()
    old = now - dt.timedelta(days=31)
    same = list(deliveries)  # three deliveries, re-pointed to one address
    Delivery.objects.filter(pk__in=[d.pk for d in same]).update(email=same[0].email)
    record_events([bounce(same[0], "soft", old)])  # outside the window: does not count
    record_events([bounce(same[1], "soft", now)])
    assert not Suppression.objects.exists()
    record_events([bounce(same[2], "soft", now)])
    assert not Suppression.objects.exists()  # two inside the window
    record_events([bounce(same[0], "soft", now)])
    assert list(Suppression.objects.values_list("email", "reason")) == [(same[0].email, "soft")]


def test_complaint_unsubscribes_suppresses_and_outranks_a_bounce(in_workspace, sent_run):
    _run, (delivery,) = sent_run(1)
    record_events([bounce(delivery, "soft")])
    record_events([bounce(delivery, "complaint")])
    delivery.refresh_from_db()
    client = Client.objects.get(pk=delivery.client_id)
    assert delivery.status == "complained"
    assert not client.is_subscribed and client.unsubscribed_at is not None
    assert Suppression.objects.get().reason == "complaint"


def test_actions_follow_the_workspace_settings(in_workspace, sent_run):
    FeedbackSettings.objects.create(
        hard_bounce_suppresses=False, soft_bounce_limit=0, complaint_unsubscribes=False, complaint_suppresses=False
    )
    _run, (a, b, c) = sent_run(3)
    record_events([bounce(a, "hard"), bounce(b, "soft"), bounce(c, "complaint")])
    assert not Suppression.objects.exists()
    assert Client.objects.filter(is_subscribed=False).count() == 0
    assert FeedbackEvent.objects.count() == 3


def test_a_bounce_after_a_failed_hand_off_keeps_the_failure(in_workspace, sent_run):
    _run, (delivery,) = sent_run(1)
    Delivery.objects.filter(pk=delivery.pk).update(status="failed")
    record_events([bounce(delivery)])
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_provider_event_ids_are_recorded_once(in_workspace, sent_run):
    _run, (delivery,) = sent_run(1)
    event = Incoming(kind="hard", source="sendgrid", email=delivery.email, provider_event_id="ev-1")
    first = record_events([event, Incoming(**{**event.__dict__})])
    again = record_events([Incoming(**{**event.__dict__})])
    assert (first.recorded, first.duplicates, again.recorded, again.duplicates) == (1, 1, 0, 1)
    assert FeedbackEvent.objects.get().delivery_id == delivery.pk  # matched by email


def test_event_without_delivery_or_email_is_not_recorded(in_workspace):
    outcome = record_events([Incoming(kind="hard", source="mailgun")])
    assert (outcome.recorded, outcome.unmatched) == (0, 1)


def test_raw_messages_are_purged_after_thirty_days_and_fields_stay(in_workspace, sent_run):
    _run, (old, new) = sent_run(2)
    record_events([bounce(old, raw="old raw"), bounce(new, raw="new raw")])
    FeedbackEvent.objects.filter(delivery=old).update(received_at=timezone.now() - dt.timedelta(days=31))
    assert purge_raw() == 1
    kept = dict(FeedbackEvent.objects.values_list("delivery_id", "raw"))
    assert kept == {old.pk: "", new.pk: "new raw"}
    assert FeedbackEvent.objects.get(delivery=old).kind == "hard"


# --- the engine ------------------------------------------------------------------------------


def test_each_message_goes_out_with_its_own_verp_return_path(in_workspace, engine_settings, provider, make_mailing):
    engine_settings(provider.port)
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.process_run(run, in_workspace)
    deliveries = {d.email: d.pk for d in Delivery.objects.filter(run=run)}
    assert len(provider.envelopes) == 3
    for sender, rcpt, content in provider.envelopes:
        target = read_token(token_of(sender))
        assert (target.workspace_id, target.delivery_id) == (in_workspace.pk, deliveries[rcpt])
        assert b"From: =?utf-8?" in content  # the visible From is unchanged (the workspace's name)


def test_each_message_carries_its_token_for_the_providers_webhooks(
    in_workspace, engine_settings, provider, make_mailing
):
    """SendGrid's unique_args, Mailgun's variables and Postmark's metadata come back in their events."""
    import email
    import json

    from shared_apps.deliverability.providers import _delivery_id

    engine_settings(provider.port)
    mailing = make_mailing(2)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.process_run(run, in_workspace)
    deliveries = {d.email: d.pk for d in Delivery.objects.filter(run=run)}

    assert len(provider.envelopes) == 2
    for _sender, rcpt, content in provider.envelopes:
        headers = email.message_from_bytes(content)
        echoed = [
            json.loads(headers["X-SMTPAPI"])["unique_args"]["rassylka"],
            json.loads(headers["X-Mailgun-Variables"])["rassylka"],
            headers["X-PM-Metadata-rassylka"],
        ]
        assert [_delivery_id(token, in_workspace.pk) for token in echoed] == [deliveries[rcpt]] * 3
        assert {_delivery_id(token, in_workspace.pk + 1) for token in echoed} == {None}  # another workspace's hook


def test_suppressed_clients_get_no_delivery_in_a_later_run(in_workspace, engine_settings, provider, make_mailing):
    engine_settings(provider.port)
    mailing = make_mailing(3)
    suppressed = mailing.subscribed_clients[0]
    Suppression.objects.create(email=suppressed.email.upper().lower(), reason="hard")
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.process_run(run, in_workspace)
    assert suppressed.email not in provider.recipients and len(provider.recipients) == 2
    assert not Delivery.objects.filter(run=run, client=suppressed).exists()


def test_a_suppression_during_a_run_skips_the_pending_delivery(in_workspace, engine_settings, provider, make_mailing):
    engine_settings(provider.port)
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    late = mailing.subscribed_clients[2]
    Suppression.objects.create(email=late.email.lower(), reason="complaint")
    engine.process_run(run, in_workspace)
    assert late.email not in provider.recipients
    assert Delivery.objects.get(run=run, client=late).status == "skipped"


def test_a_lifted_suppression_lets_the_client_be_mailed_again(in_workspace, engine_settings, provider, make_mailing):
    engine_settings(provider.port)
    mailing = make_mailing(2)
    lifted = mailing.subscribed_clients[0]
    suppression = Suppression.objects.create(email=lifted.email, reason="hard")
    lift_suppression(suppression, "owner@example.com")
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.process_run(run, in_workspace)
    assert lifted.email in provider.recipients


def test_csv_import_never_lifts_a_suppression(in_workspace, sent_run):
    _run, (delivery,) = sent_run(1)
    record_events([bounce(delivery)])
    Client.objects.filter(pk=delivery.client_id).delete()
    job = ImportJob.objects.create(file_name="again.csv", data=f"email\n{delivery.email.upper()}\n".encode())
    run_import(job)
    assert Client.objects.filter(email__iexact=delivery.email).exists()
    assert Suppression.objects.filter(email=delivery.email.lower()).exists()

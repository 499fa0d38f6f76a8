"""Recording bounces and complaints in a workspace schema, and what they cause.

Every function here runs inside the workspace's schema (the tasks enter it).
Events are recorded a batch at a time (a SendGrid webhook posts hundreds at
once): one query per step for the whole batch, not per event.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.audience import services as audience
from tenant_apps.audience.models import Client
from tenant_apps.delivery import counters
from tenant_apps.delivery.models import Delivery, Run
from tenant_apps.webhooks import events as webhook_events

from .incoming import Incoming
from .models import FeedbackEvent, FeedbackSettings, Suppression, SuppressionLift

log = logging.getLogger(__name__)

HARD, SOFT, COMPLAINT = FeedbackEvent.Kind.HARD, FeedbackEvent.Kind.SOFT, FeedbackEvent.Kind.COMPLAINT
SENT = Delivery.Status.SENT
BOUNCED, COMPLAINED = Delivery.Status.BOUNCED, Delivery.Status.COMPLAINED
DELIVERED_STATES = (SENT, BOUNCED, COMPLAINED)


@dataclass
class Recorded:
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0
    suppressed: int = 0
    run_ids: set = field(default_factory=set)


def record_events(incoming: list[Incoming], now: datetime | None = None) -> Recorded:
    """Record a batch of events, set their deliveries' status, apply the workspace's actions."""
    now = now or timezone.now()
    outcome = Recorded()
    matched = _match_deliveries(incoming, outcome)
    fresh = _drop_known_provider_events(matched, outcome)
    if not fresh:
        return outcome
    with transaction.atomic():
        events = _insert_events(fresh, now, outcome)
        _mark_deliveries(events)
        webhook_events.feedback_events(events)
        _apply_actions(events, FeedbackSettings.current(), now, outcome)
    outcome.recorded = len(events)
    outcome.run_ids = {delivery.run_id for event in events if (delivery := event.delivery) is not None}
    return outcome


def _match_deliveries(incoming, outcome):
    """Pair each event with its delivery: by the VERP delivery id, else the latest sent one to its email."""
    by_id = Delivery.objects.in_bulk([e.delivery_id for e in incoming if e.delivery_id])
    emails = {e.email.lower() for e in incoming if not e.delivery_id and e.email}
    by_email = _latest_deliveries_to(emails) if emails else {}
    matched = []
    for event in incoming:
        delivery = by_id.get(event.delivery_id) if event.delivery_id else by_email.get(event.email.lower())
        if delivery is None and not event.email:
            outcome.unmatched += 1  # nothing to act on: no delivery, no address
            continue
        if delivery is not None:
            event.email = delivery.email  # what we sent to, not what a forwarder rewrote it to
        matched.append((event, delivery))
    return matched


def _latest_deliveries_to(emails):
    """{lower email: the latest delivered Delivery} through the client (indexed by lower(email))."""
    clients = dict(
        Client.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=emails)
        .values_list("id", "lower_email")
    )
    if not clients:
        return {}
    latest = (
        Delivery.objects.filter(client_id__in=list(clients), status__in=DELIVERED_STATES)
        .order_by("client_id", "-finished_at", "-id")
        .distinct("client_id")
    )
    return {clients[d.client_id]: d for d in latest}


def _drop_known_provider_events(matched, outcome):
    ids = {(e.source, e.provider_event_id) for e, _d in matched if e.provider_event_id}
    known = set()
    if ids:
        query = Q()
        for source, event_id in ids:
            query |= Q(source=source, provider_event_id=event_id)
        known = set(FeedbackEvent.objects.filter(query).values_list("source", "provider_event_id"))
    fresh, seen = [], set()
    for event, delivery in matched:
        key = (event.source, event.provider_event_id)
        if event.provider_event_id and (key in known or key in seen):
            outcome.duplicates += 1
            continue
        seen.add(key)
        fresh.append((event, delivery))
    return fresh


def _event_row(event, delivery, now):
    return FeedbackEvent(
        delivery=delivery,
        email=event.email[:254],
        kind=event.kind,
        source=event.source,
        status_code=event.status_code[:16],
        diagnostic=event.diagnostic[:2000],
        reporting_mta=event.reporting_mta[:255],
        occurred_at=event.occurred_at or now,
        raw=event.raw,
        provider_event_id=event.provider_event_id,
    )


def _insert_events(fresh, now, outcome):
    rows = [_event_row(event, delivery, now) for event, delivery in fresh]
    if not any(row.provider_event_id for row in rows):
        return FeedbackEvent.objects.bulk_create(rows)  # nothing can clash: no savepoint needed
    try:
        with transaction.atomic():
            return FeedbackEvent.objects.bulk_create(rows)
    except IntegrityError:  # a concurrent worker recorded one of them meanwhile: one by one
        kept = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                kept.append(row)
            except IntegrityError:
                outcome.duplicates += 1
        return kept


def _mark_deliveries(events):
    """sent → bounced or complained; a complaint also outranks an earlier bounce."""
    bounced = [e.delivery_id for e in events if e.delivery_id and e.kind != COMPLAINT]
    complained = [e.delivery_id for e in events if e.delivery_id and e.kind == COMPLAINT]
    if bounced:
        counters.move_deliveries(bounced, (SENT,), BOUNCED)
    if complained:
        counters.move_deliveries(complained, (SENT, BOUNCED), COMPLAINED)


def _apply_actions(events, rules, now, outcome):
    reasons = {}  # email → (reason, event)
    complainers = set()
    soft = defaultdict(list)
    for event in events:
        email = event.email.lower()
        if event.kind == HARD and rules.hard_bounce_suppresses:
            reasons.setdefault(email, (Suppression.Reason.HARD_BOUNCE, event))
        elif event.kind == COMPLAINT:
            if rules.complaint_unsubscribes:
                complainers.add(email)
            if rules.complaint_suppresses:
                reasons[email] = (Suppression.Reason.COMPLAINT, event)
        elif event.kind == SOFT and rules.soft_bounce_limit:
            soft[email].append(event)
    if soft:
        since = now - timedelta(days=rules.soft_bounce_days)
        counts = dict(
            FeedbackEvent.objects.filter(email__in=list(soft), kind=SOFT, occurred_at__gte=since)
            .values_list("email")
            .annotate(n=Count("id"))
            .values_list("email", "n")
        )
        for email, items in soft.items():
            if counts.get(email, 0) >= rules.soft_bounce_limit:
                reasons.setdefault(email, (Suppression.Reason.SOFT_BOUNCES, items[-1]))
    if complainers:
        unsubscribed = list(
            Client.objects.annotate(lower_email=Lower("email"))
            .filter(lower_email__in=complainers, is_subscribed=True)
            .select_for_update()
            .values_list("id", "email")
        )
        ids = [pk for pk, _email in unsubscribed]
        Client.objects.filter(pk__in=ids).update(is_subscribed=False, unsubscribed_at=now)
        audience.clients_changed(saved_ids=ids)
        webhook_events.subscription_changed(unsubscribed, subscribed=False, at=now)
    if reasons:
        created = Suppression.objects.bulk_create(
            [Suppression(email=email, reason=reason, event=event) for email, (reason, event) in reasons.items()],
            ignore_conflicts=True,
        )
        outcome.suppressed = len(created)


# --- the suppression list ----------------------------------------------------------


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email=email.strip().lower()).exists()


def suppressions(query: str = ""):
    rows = Suppression.objects.select_related("event")
    if query:
        rows = rows.filter(email__icontains=query.strip().lower())
    return rows


@transaction.atomic
def lift_suppression(suppression: Suppression, by_email: str) -> SuppressionLift:
    """An owner lifts a suppression: the address may be mailed again; the lift is logged."""
    lift = SuppressionLift.objects.create(
        email=suppression.email, reason=suppression.reason, suppressed_at=suppression.created, lifted_by=by_email
    )
    suppression.delete()
    log.info("suppression of %s lifted by %s in %s", lift.email, by_email, connection.schema_name)
    return lift


def purge_raw(now: datetime | None = None) -> int:
    """Drop raw messages older than FEEDBACK_RAW_KEEP_DAYS (the parsed fields stay)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FEEDBACK_RAW_KEEP_DAYS)
    return FeedbackEvent.objects.filter(received_at__lt=cutoff).exclude(raw="").update(raw="")


# --- figures for reports and the reputation guard -----------------------------------


def run_figures(run_id: int) -> dict:
    """A run's delivered count, hard bounces and complaints, with rates in per cent."""
    counts = Delivery.objects.filter(run_id=run_id).aggregate(
        delivered=Count("id", filter=Q(status__in=DELIVERED_STATES)),
        complaints=Count("id", filter=Q(status=COMPLAINED)),
    )
    hard = FeedbackEvent.objects.filter(delivery__run_id=run_id, kind=HARD).values("delivery_id").distinct().count()
    delivered = counts["delivered"]
    return {
        "run": run_id,
        "delivered": delivered,
        "hard_bounces": hard,
        "complaints": counts["complaints"],
        "hard_bounce_rate": round(100 * hard / delivered, 2) if delivered else 0.0,
        "complaint_rate": round(100 * counts["complaints"] / delivered, 3) if delivered else 0.0,
    }


def breaches_reputation(figures: dict) -> bool:
    """Whether a run's figures pass the guard's thresholds (settings)."""
    if figures["delivered"] < settings.REPUTATION_MIN_DELIVERIES:
        return False
    return (
        figures["hard_bounce_rate"] > settings.REPUTATION_MAX_HARD_BOUNCE_RATE
        or figures["complaint_rate"] > settings.REPUTATION_MAX_COMPLAINT_RATE
    )


def check_reputation(workspace, run_ids) -> dict | None:
    """Pause the workspace when one of these runs passes the thresholds; the figures of that run, or None."""
    from shared_apps.deliverability.services import pause_for_reputation

    for run_id in sorted(run_ids):
        figures = run_figures(run_id)
        if breaches_reputation(figures):
            pause_for_reputation(workspace, figures)
            return figures
    return None


def unfinished_run_ids(schema_name: str) -> list[int]:
    with schema_context(schema_name):
        return list(Run.objects.filter(status=Run.Status.SENDING).values_list("id", flat=True))

"""Emitting webhook events: the one call the other apps make where something happens.

`emit(type, payloads)` writes one outbox row per (subscribed endpoint, event)
in the caller's transaction, so an event is recorded exactly when what it
reports is, and a rollback takes both. After the commit the endpoints'
senders are woken. Which event types have an enabled endpoint is cached per
workspace, so a workspace without webhooks pays one cache read per batch.

The `*_events` helpers build the payloads of each source from ids, one query
per batch, only when someone subscribes.
"""

import json
import uuid
from datetime import datetime

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from .models import Endpoint

SUBSCRIPTIONS_KEY = "webhooks:subscriptions"
SUBSCRIPTIONS_SECONDS = 3600


def subscriptions() -> dict[str, list[int]]:
    """{event type: ids of the enabled endpoints that want it} of the current workspace (cached)."""
    found = cache.get(SUBSCRIPTIONS_KEY)
    if found is None:
        found = {}
        for pk, types in Endpoint.objects.filter(is_enabled=True).values_list("id", "event_types"):
            for event_type in types:
                found.setdefault(event_type, []).append(pk)
        cache.set(SUBSCRIPTIONS_KEY, found, SUBSCRIPTIONS_SECONDS)
    return found


def subscriptions_changed() -> None:
    """Call after any change to an endpoint's events or state (in the workspace's schema)."""
    cache.delete(SUBSCRIPTIONS_KEY)
    transaction.on_commit(lambda: cache.delete(SUBSCRIPTIONS_KEY))  # and once the change is visible


def wanted(event_type: str) -> bool:
    return bool(subscriptions().get(event_type))


OUTBOX_SQL = """
INSERT INTO webhooks_outboxevent (endpoint_id, event_id, type, payload, occurred_at)
SELECT e.id, v.id, %(type)s, v.payload::jsonb, %(at)s
FROM unnest(%(ids)s::uuid[], %(payloads)s::text[]) WITH ORDINALITY AS v(id, payload, n)
CROSS JOIN unnest(%(endpoints)s::bigint[]) AS e(id)
ORDER BY v.n, e.id
"""


def emit(event_type: str, payloads: list[dict], *, endpoint_ids: list[int] | None = None) -> int:
    """Record one event per payload for every endpoint subscribed to `event_type`; returns the events recorded.

    `endpoint_ids` sends to exactly those endpoints instead (the test event).
    """
    endpoints = endpoint_ids if endpoint_ids is not None else subscriptions().get(event_type)
    if not endpoints or not payloads:
        return 0
    params = {
        "type": event_type,
        "at": timezone.now(),
        "ids": [str(uuid.uuid4()) for _ in payloads],
        "payloads": [json.dumps(p, cls=DjangoJSONEncoder, ensure_ascii=False) for p in payloads],
        "endpoints": list(endpoints),
    }
    with connection.cursor() as cursor:
        cursor.execute(OUTBOX_SQL, params)
    schema, woken = connection.schema_name, list(endpoints)
    transaction.on_commit(lambda: wake(schema, woken))
    return len(payloads)


def wake(schema_name: str, endpoint_ids: list[int]) -> None:
    from .tasks import wake_senders  # tasks import the sender, which imports this module

    wake_senders(schema_name, endpoint_ids)


# --- the sources' payloads ------------------------------------------------------------


def delivery_outcomes(sent_ids: list[int], failed_ids: list[int]) -> None:
    """delivery.sent / delivery.failed for deliveries the engine just finished (in its batch write)."""
    for event_type, status, ids in (("delivery.sent", "sent", sent_ids), ("delivery.failed", "failed", failed_ids)):
        if ids and wanted(event_type):
            emit(event_type, delivery_payloads(ids, status))


def delivery_payloads(ids: list[int], status: str) -> list[dict]:
    from tenant_apps.delivery.models import Delivery

    # The status filter leaves out a delivery whose claim another worker took back meanwhile (not written).
    rows = Delivery.objects.filter(id__in=ids, status=status).values_list(
        "id", "run_id", "run__mailing_id", "client_id", "email", "finished_at", "last_response"
    )
    return [
        {
            "delivery_id": pk,
            "run_id": run_id,
            "mailing_id": mailing_id,
            "client_id": client_id,
            "email": email,
            "at": finished_at,
            "response": response,
        }
        for pk, run_id, mailing_id, client_id, email, finished_at, response in rows.order_by("id")
    ]


def feedback_events(events) -> None:
    """delivery.bounced / delivery.complained for freshly recorded FeedbackEvents."""
    by_type = {"delivery.bounced": [], "delivery.complained": []}
    for event in events:
        by_type["delivery.complained" if event.kind == "complaint" else "delivery.bounced"].append(event)
    for event_type, items in by_type.items():
        if items and wanted(event_type):
            emit(event_type, [feedback_payload(event) for event in items])


def feedback_payload(event) -> dict:
    delivery = event.delivery
    return {
        "delivery_id": event.delivery_id,
        "run_id": delivery.run_id if delivery else None,
        "client_id": delivery.client_id if delivery else None,
        "email": event.email,
        "kind": event.kind,
        "source": event.source,
        "status_code": event.status_code,
        "diagnostic": event.diagnostic,
        "at": event.occurred_at,
    }


HITS_SQL = """
SELECT h.kind, h.at, h.delivery_id, h.mailing_id, h.client_id, l.url
FROM engagement_hit h LEFT JOIN engagement_link l ON l.id = h.link_id
WHERE h.hit_id = ANY(%s::bigint[]) AND h.kind = ANY(%s::text[])
ORDER BY h.hit_id
"""


HIT_EVENTS = {"open": "delivery.opened", "click": "delivery.clicked"}


def wants_hits() -> bool:
    return any(wanted(event_type) for event_type in HIT_EVENTS.values())


def engagement_hits(hit_ids: list[int]) -> None:
    """delivery.opened / delivery.clicked for the new hits of people (not scanners) the drain just wrote."""
    kinds = [kind for kind, event_type in HIT_EVENTS.items() if wanted(event_type)]
    if not kinds or not hit_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(HITS_SQL, [hit_ids, kinds])
        rows = cursor.fetchall()
    opened = [hit_payload(*row) for row in rows if row[0] == "open"]
    clicked = [hit_payload(*row) for row in rows if row[0] == "click"]
    emit("delivery.opened", opened)
    emit("delivery.clicked", clicked)


def hit_payload(kind, at, delivery_id, mailing_id, client_id, url) -> dict:
    payload = {"delivery_id": delivery_id, "mailing_id": mailing_id, "client_id": client_id, "at": at}
    if kind == "click":
        payload["url"] = url
    return payload


def subscription_changed(clients: list[tuple[int, str]], subscribed: bool, at: datetime | None = None) -> None:
    """client.subscribed / client.unsubscribed for the (id, email) of clients whose global state just changed.

    "list" is null: the change is to "subscribed to everything", not to one list.
    """
    event_type = "client.subscribed" if subscribed else "client.unsubscribed"
    if clients and wanted(event_type):
        at = at or timezone.now()
        emit(event_type, [{"client_id": pk, "email": email, "list": None, "at": at} for pk, email in clients])


def membership_event_wanted(subscribed: bool) -> bool:
    """Whether a list membership change of this direction has a listener (bulk paths ask before building rows)."""
    return wanted("client.subscribed" if subscribed else "client.unsubscribed")


def membership_changed(changes: list[tuple[int, str, int]], subscribed: bool, at: datetime | None = None) -> None:
    """client.subscribed / client.unsubscribed with the list, for (client id, email, list id) whose membership
    status on that list just became subscribed, or unsubscribed (one query for the lists' names)."""
    event_type = "client.subscribed" if subscribed else "client.unsubscribed"
    if not changes or not wanted(event_type):
        return
    from tenant_apps.audience.models import MailingList  # the audience app calls this module

    names = dict(MailingList.objects.filter(pk__in={list_id for _c, _e, list_id in changes}).values_list("id", "name"))
    at = at or timezone.now()
    emit(
        event_type,
        [
            {"client_id": pk, "email": email, "list": {"id": list_id, "name": names.get(list_id, "")}, "at": at}
            for pk, email, list_id in changes
        ],
    )


def run_completed(run) -> None:
    """run.completed once a run has nothing left to send, with its final figures."""
    if not wanted("run.completed"):
        return
    from tenant_apps.delivery.models import Delivery, Run

    run = Run.objects.get(pk=run.pk)
    statuses = Delivery.Status
    figures = run.deliveries.aggregate(
        total=Count("id"),
        sent=Count("id", filter=Q(status__in=[statuses.SENT, statuses.BOUNCED, statuses.COMPLAINED])),
        failed=Count("id", filter=Q(status=statuses.FAILED)),
        skipped=Count("id", filter=Q(status=statuses.SKIPPED)),
    )
    emit(
        "run.completed",
        [{"run_id": run.pk, "mailing_id": run.mailing_id, "finished_at": run.finished_at, **figures}],
    )

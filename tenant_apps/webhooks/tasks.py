"""huey: an endpoint's sender, woken after an event's commit and at its next retry.

Nothing is lost when a consumer dies: events and messages are rows in the
workspace's schema. A sender that dies holds its endpoint's lease for at most
LEASE_SECONDS; the look scheduled when it started picks the endpoint up then.
"""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context
from huey.contrib.djhuey import db_task

from . import sender

log = logging.getLogger(__name__)

TASK_BUDGET_SECONDS = 60


def queued_key(endpoint_id: int) -> str:
    return f"webhooks:queued:{endpoint_id}"


def wake_senders(schema_name: str, endpoint_ids: list[int]) -> None:
    """Enqueue a sender for each endpoint, unless one is already queued (a big run wakes them once per batch)."""
    for endpoint_id in endpoint_ids:
        with schema_context(schema_name):  # cache keys carry the schema
            first = cache.add(queued_key(endpoint_id), 1, timeout=300)
        if first:
            send_webhooks(schema_name, endpoint_id)


def schedule_look(schema_name: str, endpoint_id: int, when) -> None:
    """One scheduled sender per endpoint and minute."""
    stamp = int(when.timestamp()) // 60
    with schema_context(schema_name):
        first = cache.add(f"webhooks:look:{endpoint_id}:{stamp}", 1, timeout=int(sender.LEASE_SECONDS * 2 + 86400))
    if first:
        send_webhooks.schedule((schema_name, endpoint_id), eta=when)


@db_task()
def send_webhooks(schema_name: str, endpoint_id: int):
    """Send the endpoint's due messages for up to a minute, then hand over or sleep until the next retry."""
    with schema_context(schema_name):
        cache.delete(queued_key(endpoint_id))  # events committed from now on wake another sender
        started = timezone.now()
        outcome = sender.send_endpoint(endpoint_id, budget_seconds=TASK_BUDGET_SECONDS)
    if outcome.busy:
        schedule_look(schema_name, endpoint_id, started + timedelta(seconds=sender.LEASE_SECONDS))
        return
    log.info("webhooks %s/%s: %s", schema_name, endpoint_id, outcome)
    if outcome.next_due is None:
        return
    if outcome.next_due <= timezone.now():
        wake_senders(schema_name, [endpoint_id])
    else:
        schedule_look(schema_name, endpoint_id, outcome.next_due)

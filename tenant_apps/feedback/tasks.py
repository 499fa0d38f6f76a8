"""huey tasks: inbound bounce messages and webhook events, recorded in their workspace's schema.

The bounce receiver and the webhook views only check and enqueue; the parsing
and every database write happen here, in the consumer.
"""

import logging
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from shared_apps.deliverability.services import count_dropped
from tenants.models import Workspace

from . import services
from .incoming import Incoming
from .parsing import parse_message
from .verp import read_token, token_of

log = logging.getLogger(__name__)


@db_task(retries=3, retry_delay=10)
def receive_bounces(messages: list[tuple[str, bytes]]):
    """Messages the bounce receiver accepted, as (envelope recipient, raw bytes): parse, match, record."""
    return handle_bounces(messages)


def receive_bounce(recipient: str, raw: bytes):
    """Queue one message (as the receiver does with a group of them)."""
    return receive_bounces([(recipient, raw)])


def handle_bounce(recipient: str, raw: bytes) -> services.Recorded | None:
    return handle_bounces([(recipient, raw)]).get("recorded")


def handle_bounces(messages: list[tuple[str, bytes]]) -> dict:
    """Parse each message, find its workspace by its token, and record each workspace's events in one batch."""
    by_workspace: dict[int, list[Incoming]] = {}
    for recipient, raw in messages:
        target, parsed = read_bounce(recipient, raw)
        if target is None:
            continue
        text = raw.decode("utf-8", "replace").replace("\x00", "")
        by_workspace.setdefault(target.workspace_id, []).extend(
            Incoming(
                kind=p.kind,
                source="smtp",
                email=p.recipient,
                delivery_id=target.delivery_id,
                status_code=p.status_code,
                diagnostic=p.diagnostic,
                reporting_mta=p.reporting_mta,
                occurred_at=p.occurred_at,
                raw=text,
            )
            for p in parsed
        )
    workspaces = Workspace.objects.filter(pk__in=list(by_workspace), is_active=True).exclude(schema_name="public")
    found = {workspace.pk: workspace for workspace in workspaces}
    outcome = {}
    for workspace_id, incoming in by_workspace.items():
        workspace = found.get(workspace_id)
        if workspace is None:
            count_dropped("unknown workspace")
            continue
        outcome["recorded"] = record_in_workspace(workspace, incoming)
    return outcome


def read_bounce(recipient: str, raw: bytes):
    """(VerpTarget, parsed events), or (None, []) when the message is dropped (and counted)."""
    parsed = parse_message(raw)
    if not parsed:
        count_dropped("not a bounce")
        return None, []
    token = token_of(recipient) or next((p.token for p in parsed if p.token), None)
    target = read_token(token) if token else None
    if target is None:
        count_dropped("forged or missing token" if token else "no token")
        return None, []
    return target, parsed


@db_task(retries=3, retry_delay=10)
def receive_webhook_events(workspace_id: int, events: list[dict]):
    """Events a provider's webhook delivered (checked and normalised by the view)."""
    workspace = Workspace.objects.filter(pk=workspace_id, is_active=True).first()
    if workspace is None:
        count_dropped("unknown workspace")
        return None
    return record_in_workspace(workspace, [Incoming.from_dict(e) for e in events])


def record_in_workspace(workspace: Workspace, incoming: list[Incoming]) -> services.Recorded:
    with schema_context(workspace.schema_name):
        outcome = services.record_events(incoming)
        if outcome.unmatched:
            log.info("%s feedback events in %s matched no delivery", outcome.unmatched, workspace.slug)
        due_now = [run_id for run_id in outcome.run_ids if reputation_check_due(workspace, run_id)]
        if due_now:
            services.check_reputation(workspace, due_now)
    return outcome


def reputation_check_due(workspace: Workspace, run_id: int) -> bool:
    """Whether to check a run's rates now: at most once per REPUTATION_CHECK_SECONDS per run.

    Counting a big run costs a few milliseconds; thousands of bounces a
    second must not each pay it. A check skipped inside the window is made
    once at its end (a delayed task), so the last bounce is never left unchecked.
    """
    interval = settings.REPUTATION_CHECK_SECONDS
    if interval <= 0:
        return True
    key = f"feedback:reputation:{workspace.pk}:{run_id}"
    if cache.add(key, 1, interval):
        return True
    if cache.add(f"{key}:later", 1, interval):
        check_run_reputation.schedule((workspace.pk, run_id), delay=interval)
    return False


@db_task()
def check_run_reputation(workspace_id: int, run_id: int):
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        with schema_context(workspace.schema_name):
            services.check_reputation(workspace, [run_id])


@db_task(retries=3, retry_delay=60)
def confirm_sns_subscription(url: str):
    """Visit an SNS SubscribeURL (its host was checked against FEEDBACK_SNS_URL_PATTERN by the webhook)."""
    from shared_apps.deliverability.providers import sns_url_allowed

    if not sns_url_allowed(url):
        return
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - only URLs matching the pattern
        response.read(65536)
    log.info("confirmed the SNS subscription %s", url.split("?")[0])


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_raw_feedback():
    """Daily: raw bounce messages and payloads older than FEEDBACK_RAW_KEEP_DAYS go; their fields stay."""
    for schema_name in Workspace.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema_name):
            purged = services.purge_raw()
        if purged:
            log.info("purged %s raw feedback messages in %s", purged, schema_name)
    connection.set_schema_to_public()

"""The sending engine: a run's deliveries, claimed in batches, sent, recorded in batches.

Every function here runs inside a workspace schema (the callers enter it
with schema_context). Several workers (threads, processes, machines) may work
on one run at once: they claim disjoint batches with FOR UPDATE SKIP LOCKED,
and a claim older than DELIVERY_CLAIM_TIMEOUT is taken back from a worker
that died. Results are written per batch: one UPDATE of the deliveries and
one INSERT of the attempts, not a round trip per message; the per-message
journal (journal.py) keeps a killed worker from causing more than one
duplicate.
"""

import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from tenant_apps.campaigns.rendering import CompiledMessage
from tenant_apps.feedback.engine_hooks import NOT_SUPPRESSED_SQL, ReturnPaths, sending_paused

from .breaker import CircuitBreaker
from .compose import build_message, envelope_address, format_from
from .journal import SentJournal
from .models import Attempt, Delivery, Run
from .smtp import PERMANENT, SENT, TEMPORARY, Outcome, SmtpConfig, SmtpSender
from .unsubscribe import UnsubscribeLinks, list_unsubscribe_headers

log = logging.getLogger(__name__)

PENDING, SENDING = Delivery.Status.PENDING, Delivery.Status.SENDING
DELIVERED, FAILED, SKIPPED = Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.SKIPPED


@dataclass
class Summary:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0

    def add(self, other):
        self.sent += other.sent
        self.failed += other.failed
        self.retried += other.retried
        self.skipped += other.skipped

    @property
    def handled(self):
        return self.sent + self.failed + self.retried + self.skipped


@dataclass
class RunProgress:
    """What one call of process_run did and what is left.

    state: "done" (run finished), "waiting" (retries or an open breaker:
    come back at wake_at), "busy" (the rest is claimed by other workers),
    "paused" (mailing paused or disabled), "budget" (time budget spent).
    """

    summary: Summary = field(default_factory=Summary)
    state: str = "done"
    wake_at: datetime | None = None


# --- the worker's identity and its reused connection ---------------------------------

_local = threading.local()


def worker_name():
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 10**8}"


def smtp_config():
    return SmtpConfig.from_email_settings(
        settings.DELIVERY_EMAIL,
        timeout=settings.DELIVERY_SMTP_TIMEOUT,
        idle_check=settings.DELIVERY_SMTP_IDLE_CHECK,
        local_hostname=settings.BASE_DOMAIN,
    )


def worker_sender():
    """This thread's SmtpSender, kept between tasks so the connection is reused."""
    config = smtp_config()
    sender = getattr(_local, "sender", None)
    if sender is None or sender.config != config:
        if sender is not None:
            sender.close()
        sender = _local.sender = SmtpSender(config)
    return sender


# --- creating a run's deliveries --------------------------------------------------------


def create_deliveries(run, mailing):
    """One pending delivery per subscribed recipient, in one INSERT … SELECT; safe to repeat."""
    audience = ""
    params = {"run": run.pk, "now": run.started_at or timezone.now()}
    if mailing.audience == mailing.Audience.SELECTED:
        through = mailing.clients.through._meta.db_table
        audience = f'AND c.id IN (SELECT client_id FROM "{through}" WHERE mailing_id = %(mailing)s)'  # noqa: S608
        params["mailing"] = mailing.pk
    sql = f"""
        INSERT INTO delivery_delivery
            (run_id, client_id, email, status, attempt_count, next_attempt_at, claimed_by, last_response)
        SELECT %(run)s, c.id, c.email, 'pending', 0, %(now)s, '', ''
        FROM audience_client c
        WHERE c.is_subscribed AND {NOT_SUPPRESSED_SQL} {audience}
        ON CONFLICT (run_id, client_id) DO NOTHING
    """  # noqa: S608 - only table names are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- claiming -----------------------------------------------------------------------------

# A pending delivery always has next_attempt_at (its first attempt is due when
# the run starts), so "what is sendable" is one range of delivery_claim_idx:
# the scan stops after `limit` rows however big the run is. Claims of dead
# workers ("sending", claimed long ago) are taken by a second, small query.
CLAIM_SQL = """
WITH picked AS (
    SELECT id, status AS was FROM delivery_delivery
    WHERE run_id = %(run)s AND {where}
      AND EXISTS (SELECT 1 FROM delivery_run r JOIN campaigns_mailing m ON m.id = r.mailing_id
                  WHERE r.id = %(run)s AND r.status = 'sending' AND NOT m.is_paused AND NOT m.disabled_by_manager)
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE delivery_delivery d SET status = 'sending', claimed_by = %(me)s, claimed_at = %(now)s
    FROM picked WHERE d.id = picked.id
    RETURNING d.id, d.client_id, d.email, d.attempt_count, picked.was
)
SELECT claimed.id, claimed.client_id, claimed.email, claimed.attempt_count, claimed.was = 'sending',
       c.full_name, COALESCE(c.is_subscribed, FALSE) AND {not_suppressed}
FROM claimed LEFT JOIN audience_client c ON c.id = claimed.client_id
ORDER BY claimed.id
"""
CLAIM_PENDING_SQL = CLAIM_SQL.format(
    where="status = 'pending' AND next_attempt_at <= %(now)s", not_suppressed=NOT_SUPPRESSED_SQL
)
CLAIM_STALE_SQL = CLAIM_SQL.format(
    where="status = 'sending' AND claimed_at < %(stale)s", not_suppressed=NOT_SUPPRESSED_SQL
)


@dataclass(slots=True)
class Claimed:
    id: int
    client_id: int | None
    email: str
    attempt_count: int
    reclaimed: bool
    name: str | None
    subscribed: bool


def claim_batch(run, me, limit, now):
    """Take up to `limit` sendable deliveries of the run for this worker (one statement)."""
    stale = now - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT)
    params = {"run": run.pk, "now": now, "stale": stale, "limit": limit, "me": me}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_PENDING_SQL, params)
        claimed = [Claimed(*row) for row in cursor.fetchall()]
        if len(claimed) < limit:
            cursor.execute(CLAIM_STALE_SQL, {**params, "limit": limit - len(claimed)})
            claimed += [Claimed(*row) for row in cursor.fetchall()]
        return claimed


def renew_claims(ids, me, now):
    Delivery.objects.filter(id__in=ids, claimed_by=me, status=SENDING).update(claimed_at=now)


# --- recording results, a batch at a time -------------------------------------------------

# One statement per batch: the deliveries' new states, and the attempts of those
# this worker still held (a claim taken back meanwhile is recorded by its new holder).
RECORD_SQL = """
WITH updated AS (
    UPDATE delivery_delivery d SET
        status = v.status,
        attempt_count = d.attempt_count + v.tried,
        next_attempt_at = v.next_at,
        finished_at = v.finished_at,
        last_response = CASE WHEN v.tried > 0 OR v.status <> 'pending' THEN v.response ELSE d.last_response END,
        claimed_by = '',
        claimed_at = NULL
    FROM unnest(%(ids)s::bigint[], %(statuses)s::varchar[], %(tried)s::int[], %(next_at)s::timestamptz[],
                %(finished_at)s::timestamptz[], %(responses)s::text[])
        AS v(id, status, tried, next_at, finished_at, response)
    WHERE d.id = v.id AND d.claimed_by = %(me)s AND d.status = 'sending'
    RETURNING d.id
)
INSERT INTO delivery_attempt (delivery_id, at, status, smtp_code, response, permanent)
SELECT a.delivery_id, a.at, a.status, a.smtp_code, a.response, a.permanent
FROM unnest(%(a_ids)s::bigint[], %(a_at)s::timestamptz[], %(a_status)s::varchar[], %(a_code)s::int[],
            %(a_response)s::text[], %(a_permanent)s::boolean[])
    AS a(delivery_id, at, status, smtp_code, response, permanent)
WHERE a.delivery_id IN (SELECT id FROM updated)
"""


@dataclass(slots=True)
class Result:
    delivery_id: int
    status: str
    tried: int = 0  # 1 when the server was asked (an attempt is logged)
    next_at: datetime | None = None
    finished_at: datetime | None = None
    response: str = ""
    attempt: tuple | None = None  # (at, status, smtp_code, response, permanent)


def write_results(results, me, journal):
    """Write a batch's results in one statement (deliveries updated, attempts inserted)."""
    if not results:
        journal.settle()
        return
    attempts = [(r.delivery_id, *r.attempt) for r in results if r.attempt is not None]
    a_ids, a_at, a_status, a_code, a_response, a_permanent = (
        (list(c) for c in zip(*attempts, strict=True)) if (attempts) else ([], [], [], [], [], [])
    )
    params = {
        "ids": [r.delivery_id for r in results],
        "statuses": [r.status for r in results],
        "tried": [r.tried for r in results],
        "next_at": [r.next_at for r in results],
        "finished_at": [r.finished_at for r in results],
        "responses": [r.response for r in results],
        "me": me,
        "a_ids": a_ids,
        "a_at": a_at,
        "a_status": a_status,
        "a_code": a_code,
        "a_response": a_response,
        "a_permanent": a_permanent,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RECORD_SQL, params)
    journal.forget([r.delivery_id for r in results if r.status == DELIVERED])


def retry_delay(attempts):
    """Exponential backoff with jitter: base · 2^(n-1), capped, ± the jitter fraction."""
    delay = min(settings.DELIVERY_RETRY_BASE * 2 ** max(attempts - 1, 0), settings.DELIVERY_RETRY_MAX_DELAY)
    jitter = settings.DELIVERY_RETRY_JITTER
    return delay * random.uniform(1 - jitter, 1 + jitter)


def result_for(claimed, outcome, at, deadline):
    """Turn one send outcome into the delivery's next state and its Attempt row."""
    response = f"{outcome.code} {outcome.response}".strip() if outcome.code else outcome.response
    attempt = (
        at,
        Attempt.Status.SUCCESS if outcome.kind == SENT else Attempt.Status.FAILURE,
        outcome.code if outcome.code and outcome.code > 0 else None,
        response[:2000],
        outcome.kind == PERMANENT,
    )
    result = Result(claimed.id, DELIVERED, tried=1, finished_at=at, response=response[:2000], attempt=attempt)
    if outcome.kind == PERMANENT:
        result.status = FAILED
        log.warning("delivery %s to %s failed permanently: %s", claimed.id, claimed.email, response)
    elif outcome.kind == TEMPORARY:
        attempts = claimed.attempt_count + 1
        next_at = at + timedelta(seconds=retry_delay(attempts))
        if attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            result.status = FAILED
            result.response = f"gave up after {attempts} attempts: {response}"[:2000]
        elif next_at >= deadline:
            result.status = FAILED
            result.response = f"the mailing ended before a retry: {response}"[:2000]
        else:
            result.status, result.next_at, result.finished_at = PENDING, next_at, None
    return result


def count_into(summary, result):
    if result.status == DELIVERED:
        summary.sent += 1
    elif result.status == FAILED:
        summary.failed += 1
    elif result.status == SKIPPED:
        summary.skipped += 1
    elif result.tried:
        summary.retried += 1


# --- the message ---------------------------------------------------------------------------


class RunContext:
    """What every message of a run shares, computed once per run."""

    def __init__(self, run, workspace):
        message = run.mailing.message
        self.run = run
        self.schema = connection.schema_name
        self.host = workspace.host
        # Parsed and keyed once per run: per message only the recipient's values are filled in.
        self.template = CompiledMessage(message.subject, message.body_text, message.body_html)
        self.links = UnsubscribeLinks(self.host, self.schema)
        self.from_header = format_from(settings.DELIVERY_FROM_EMAIL)
        self.envelope_from = envelope_address(settings.DELIVERY_FROM_EMAIL)
        self.return_paths = ReturnPaths(workspace.pk)  # VERP: each message's envelope sender names its delivery
        self.msgid_domain = settings.BASE_DOMAIN

    def message_for(self, claimed):
        url = self.links.url(claimed.client_id)
        subject, text, html = self.template.render(name=claimed.name, email=claimed.email, unsubscribe_url=url)
        return build_message(
            from_header=self.from_header,
            to=claimed.email,
            subject=subject,
            text=text,
            html=html,
            headers=list_unsubscribe_headers(url),
            msgid_domain=self.msgid_domain,
        )


# --- the loop -------------------------------------------------------------------------------


def breaker_for(schema_name):
    return CircuitBreaker(
        schema_name,
        threshold=settings.DELIVERY_BREAKER_THRESHOLD,
        cooldown=settings.DELIVERY_BREAKER_COOLDOWN,
        max_cooldown=settings.DELIVERY_BREAKER_MAX_COOLDOWN,
    )


def send_batch(ctx, batch, *, sender, breaker, journal, me, probe, summary, on_progress=None):
    """Send a claimed batch; returns True when the breaker opened and the rest was handed back."""
    deadline, flush_every = ctx.run.deadline, settings.DELIVERY_FLUSH_SECONDS
    recovered = journal.lookup([c.id for c in batch if c.reclaimed])
    results, pending_ids = [], [c.id for c in batch]
    flushed_at = time.monotonic()
    failures_seen = probe
    tripped = sent_any = False

    def flush():
        nonlocal results, flushed_at
        write_results(results, me, journal)
        for result in results:
            count_into(summary, result)
        if on_progress:
            on_progress(sum(1 for r in results if r.status in (DELIVERED, FAILED, SKIPPED)))
        results = []
        flushed_at = time.monotonic()

    for index, claimed in enumerate(batch):
        now = timezone.now()
        must_flush = False
        if now >= deadline:  # the mailing ended mid-batch: nothing more goes out
            results.extend(Result(c.id, PENDING, next_at=now) for c in batch[index:])
            break
        if claimed.id in recovered:  # sent by a worker that died before writing it down
            stamp, code, response = recovered[claimed.id]
            at = datetime.fromtimestamp(stamp, tz=UTC)
            results.append(result_for(claimed, Outcome(SENT, code, response), at, deadline))
        elif not claimed.subscribed:  # unsubscribed, suppressed (or deleted) since the run was created
            results.append(Result(claimed.id, SKIPPED, finished_at=now, response="unsubscribed"))
        else:
            outcome = sender.send(ctx.return_paths.address(claimed.id), claimed.email, ctx.message_for(claimed))
            at = timezone.now()
            sent_any = True
            must_flush = outcome.kind == SENT and not journal.record(claimed.id, at, outcome.code, outcome.response)
            if outcome.kind == TEMPORARY:
                failures_seen = True
                tripped = breaker.record_failure(probe=probe)
            elif failures_seen:  # the provider answered: it is alive again
                breaker.record_success()
                failures_seen = False
            results.append(result_for(claimed, outcome, at, deadline))
            if tripped:
                log.warning("circuit breaker open for %s after: %s", ctx.schema, outcome.response)
                # Hand the rest back untouched: no retry is burnt while the provider is sick.
                results.extend(Result(c.id, PENDING, next_at=at) for c in batch[index + 1 :])
                break
        if must_flush or time.monotonic() - flushed_at > flush_every:
            flush()
            renew_claims(pending_ids[index + 1 :], me, timezone.now())
    flush()
    if probe and not sent_any:
        breaker.release_probe()  # nothing was sent, so nothing was learnt: let the next probe go
    return tripped


def mailing_is_active(run):
    return Run.objects.filter(
        pk=run.pk, status=Run.Status.SENDING, mailing__is_paused=False, mailing__disabled_by_manager=False
    ).exists()


def expire_run(run, now):
    """The deadline passed: what was not delivered has failed.

    Deliveries a live worker still holds are left to it (it stops at the
    deadline and hands them back, so the next call fails them).
    """
    message = "the mailing ended before this message could be delivered"
    stale = now - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT)
    Delivery.objects.filter(run=run).filter(Q(status=PENDING) | Q(status=SENDING, claimed_at__lt=stale)).update(
        status=FAILED, finished_at=now, last_response=message, claimed_by="", claimed_at=None
    )


def finish_run_if_complete(run, now):
    """Mark the run done when no delivery is left to send; True if it is done."""
    left = Delivery.objects.filter(run=run, status__in=[PENDING, SENDING])
    done = (
        Run.objects.filter(pk=run.pk)
        .exclude(status=Run.Status.DONE)
        .exclude(pk__in=left.values("run_id"))
        .update(status=Run.Status.DONE, finished_at=now)
    )
    if done:
        SentJournal(connection.schema_name, run.pk).drop()
    return not left.exists()


def wake_time(run, now):
    """When something of the run becomes sendable again, and whether others hold claims."""
    agg = Delivery.objects.filter(run=run).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=PENDING)),
        claimed=Min("claimed_at", filter=Q(status=SENDING)),
    )
    candidates = [agg["retry"]] if agg["retry"] else []
    if agg["claimed"]:
        candidates.append(agg["claimed"] + timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT))
    wake = min(candidates) if candidates else None
    return wake, agg["claimed"] is not None and (agg["retry"] is None or agg["retry"] > now)


def process_run(run, workspace, *, budget=None, sender=None, on_progress=None):
    """Send what is sendable of a run now, in batches, until nothing is or the budget is spent."""
    progress = RunProgress()
    sender = sender or worker_sender()
    me = worker_name()
    breaker = breaker_for(connection.schema_name)
    journal = SentJournal(connection.schema_name, run.pk)
    ctx = RunContext(run, workspace)
    started = time.monotonic()
    while True:
        now = timezone.now()
        if run.deadline <= now:
            expire_run(run, now)
        if sending_paused(workspace.pk):  # the reputation guard stopped this workspace
            progress.state = "paused"
            return progress
        permit = breaker.permit()
        if not permit.allowed:
            progress.state, progress.wake_at = "waiting", now + timedelta(seconds=permit.wait)
            return progress
        batch = claim_batch(run, me, 1 if permit.probe else settings.DELIVERY_BATCH_SIZE, now)
        if not batch:  # nothing sendable, or the mailing was paused (the claim checks it)
            if finish_run_if_complete(run, now):
                progress.state = "done"
            elif not mailing_is_active(run):
                progress.state = "paused"
            else:
                progress.wake_at, busy = wake_time(run, now)
                progress.state = "busy" if busy else "waiting"
            return progress
        send_batch(
            ctx,
            batch,
            sender=sender,
            breaker=breaker,
            journal=journal,
            me=me,
            probe=permit.probe,
            summary=progress.summary,
            on_progress=on_progress,
        )
        if budget is not None and time.monotonic() - started > budget:
            progress.state, progress.wake_at = "budget", timezone.now()
            return progress

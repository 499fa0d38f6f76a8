"""The sending engine: a run's deliveries, claimed in batches, sent, recorded in batches.

Every function here runs inside a workspace schema (the callers enter it
with schema_context). Several workers (threads, processes, machines) may work
on one run at once: they claim disjoint batches with FOR UPDATE SKIP LOCKED;
a live worker's claims are renewed by its heartbeat (heartbeat.py), and a
claim not renewed for DELIVERY_CLAIM_TIMEOUT is taken back from a worker
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
from django.db.models import Count, Min, Q
from django.utils import timezone

from tenant_apps.audience import lists
from tenant_apps.campaigns.rendering import CompiledMessage
from tenant_apps.engagement.tracking import RunTracking
from tenant_apps.feedback.engine_hooks import NOT_SUPPRESSED_SQL, ReturnPaths, sending_paused
from tenant_apps.senders import quotas, sending
from tenant_apps.senders.ratelimit import is_throttling

from . import pausing
from .breaker import CircuitBreaker
from .compose import build_message, format_from
from .heartbeat import ClaimHeartbeat
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


def worker_sender(config=None, key="platform"):
    """This thread's SmtpSender for a provider, kept between tasks so the connection is reused.

    One per provider (a provider's pool is its senders in every worker
    thread): a worker serving runs of several providers keeps each connection.
    """
    config = config or smtp_config()
    if key == "platform":  # the attribute the tests and start_sched reset
        sender = getattr(_local, "sender", None)
        if sender is None or sender.config != config:
            if sender is not None:
                sender.close()
            sender = _local.sender = SmtpSender(config)
        return sender
    pool = _local.__dict__.setdefault("providers", {})
    sender = pool.get(key)
    if sender is None or sender.config != config:
        if sender is not None:
            sender.close()
        sender = pool[key] = SmtpSender(config)
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
    elif mailing.audience == mailing.Audience.LISTS:
        audience, list_params = lists.mailing_lists_condition(mailing.pk)
        params.update(list_params)
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
       c.full_name, COALESCE(c.is_subscribed, FALSE) AND {not_suppressed}, c.fields
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
    fields: dict | None = None  # custom field values, for {{ fields.<key> }}


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


def describe(outcome):
    return f"{outcome.code} {outcome.response}".strip() if outcome.code else outcome.response


def result_for(claimed, outcome, at, deadline):
    """Turn one send outcome into the delivery's next state and its Attempt row."""
    response = describe(outcome)
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


def uncounted_result(claimed, outcome, at):
    """Back to pending, the attempt logged but not counted against the delivery: the recipient is not to blame."""
    response = describe(outcome)[:2000]
    attempt = (at, Attempt.Status.FAILURE, outcome.code if outcome.code and outcome.code > 0 else None, response, False)
    return Result(claimed.id, PENDING, next_at=at, attempt=attempt)


def handed_back(claimed_rest, at):
    """Deliveries returned to pending untouched: no attempt, no retry burnt."""
    return [Result(c.id, PENDING, next_at=at) for c in claimed_rest]


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
        self.workspace = workspace
        self.schema = connection.schema_name
        self.host = workspace.host
        # From address, provider and DKIM signer (key decrypted and parsed here, once per run).
        self.identity = sending.identity_for(run.mailing, self.schema)
        # Open/click tracking: the link table is built and the links marked once per run (engagement app).
        self.tracking = RunTracking.prepare(run, workspace, message.body_text, message.body_html)
        # Parsed and keyed once per run: per message only the recipient's values are filled in.
        self.template = CompiledMessage(message.subject, self.tracking.text, self.tracking.html)
        self.links = UnsubscribeLinks(self.host, self.schema)
        self.from_header = format_from(self.identity.from_email)
        self.return_paths = ReturnPaths(workspace.pk)  # VERP: each message's envelope sender names its delivery
        self.msgid_domain = settings.BASE_DOMAIN

    def message_for(self, claimed):
        url = self.links.url(claimed.client_id)
        subject, text, html = self.template.render(
            name=claimed.name, email=claimed.email, unsubscribe_url=url, fields=claimed.fields
        )
        text, html = self.tracking.personalise(claimed.id, text, html)
        message = build_message(
            from_header=self.from_header,
            to=claimed.email,
            subject=subject,
            text=text,
            html=html,
            headers={**list_unsubscribe_headers(url), **self.return_paths.provider_headers(claimed.id)},
            msgid_domain=self.msgid_domain,
        )
        return self.identity.sign(message)  # DKIM, when the From domain is verified

    def may_send(self, claimed):
        """Whether the claimed delivery may still go out (the claim read the client's subscription)."""
        return claimed.subscribed


# A run's context is kept per worker thread for this long (the DKIM key is parsed once per run, not per
# batch, when a fair consumer switches between runs batch by batch).
CONTEXT_TTL = 300.0
# Waits for the provider's rate shorter than this are slept in place; longer ones end the call ("waiting").
RATE_WAIT_INLINE = 5.0


def run_context(run, workspace):
    cache = _local.__dict__.setdefault("contexts", {})
    # run.created too: a run id can come back (a schema dropped and re-created, a test database's sequences
    # reset), and another run's From, DKIM key or links must never be reused.
    key = (connection.schema_name, run.pk, run.created, smtp_config(), settings.DELIVERY_FROM_EMAIL)
    entry = cache.get(key)
    if entry is None or time.monotonic() - entry[1] > CONTEXT_TTL:
        if len(cache) > 50:
            cache.clear()
        entry = cache[key] = (context_class(run)(run, workspace), time.monotonic())
    entry[0].run, entry[0].workspace = run, workspace  # the caller's fresh rows (deadline, status, quotas)
    return entry[0]


def context_class(run):
    """RunContext, or TransactionalContext for a transactional stream's run (its messages carry their own content)."""
    from .transactional import TransactionalContext, is_stream_run  # transactional.py builds on this module

    return TransactionalContext if is_stream_run(run) else RunContext


# --- the loop -------------------------------------------------------------------------------


def breaker_for(schema_name):
    return CircuitBreaker(
        schema_name,
        threshold=settings.DELIVERY_BREAKER_THRESHOLD,
        cooldown=settings.DELIVERY_BREAKER_COOLDOWN,
        max_cooldown=settings.DELIVERY_BREAKER_MAX_COOLDOWN,
    )


# Why send_batch stopped before the end of its batch (the rest was handed back untouched).
BREAKER_OPEN, SENDER_REFUSED, TIME_LIMIT = "breaker open", "sender refused", "time limit"
THROTTLED = "throttled"


def send_batch(ctx, batch, *, sender, breaker, journal, me, probe, summary, on_progress=None, stop_at=None):
    """Send a claimed batch; returns why it stopped early (BREAKER_OPEN, SENDER_REFUSED, TIME_LIMIT) or None.

    `stop_at` (time.monotonic()) is a hard limit: checked before every message,
    and no wait for the server lasts past it. A throttling answer (421, 454,
    45x "rate") slows the provider down (its token bucket) and hands this
    message and the rest back untouched: not a failure of the delivery, nor a
    fault for the breaker.
    """
    deadline, flush_every = ctx.run.deadline, settings.DELIVERY_FLUSH_SECONDS
    recovered = journal.lookup([c.id for c in batch if c.reclaimed])
    results = []
    flushed_at = time.monotonic()
    failures_seen = probe
    stopped = refusal = None
    sent_any = False

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
            results.extend(handed_back(batch[index:], now))
            break
        if stop_at is not None and time.monotonic() >= stop_at:
            results.extend(handed_back(batch[index:], now))
            stopped = TIME_LIMIT
            break
        if claimed.id in recovered:  # sent by a worker that died before writing it down
            stamp, code, response = recovered[claimed.id]
            at = datetime.fromtimestamp(stamp, tz=UTC)
            results.append(result_for(claimed, Outcome(SENT, code, response), at, deadline))
        elif not ctx.may_send(claimed):  # unsubscribed, suppressed (or deleted) since the run was created
            results.append(Result(claimed.id, SKIPPED, finished_at=now, response="unsubscribed"))
        else:
            outcome = sender.send(
                ctx.return_paths.address(claimed.id), claimed.email, ctx.message_for(claimed), deadline=stop_at
            )
            at = timezone.now()
            if outcome.interrupted:  # our time limit cut it short: nothing learnt about the provider
                results.append(uncounted_result(claimed, outcome, at))
                results.extend(handed_back(batch[index + 1 :], at))
                stopped = TIME_LIMIT
                break
            if outcome.kind == TEMPORARY and is_throttling(outcome.code, outcome.response):
                log.info("provider %s throttles: %s", ctx.identity.provider.key, describe(outcome))
                ctx.identity.bucket.throttled()
                results.extend(handed_back(batch[index:], at))
                stopped = THROTTLED
                break
            sent_any = True
            must_flush = outcome.kind == SENT and not journal.record(claimed.id, at, outcome.code, outcome.response)
            # Only the provider's faults move the breaker: a recipient's 4xx (greylisting) is that
            # delivery's retry, and any reply at all shows the provider is alive.
            if outcome.provider_fault:
                failures_seen = True
                if breaker.record_failure(probe=probe):
                    stopped = BREAKER_OPEN
            elif failures_seen:
                breaker.record_success()
                failures_seen = False
            if outcome.sender_refused:
                # Every other message would be refused the same way: keep them all for after the fix.
                results.append(uncounted_result(claimed, outcome, at))
                results.extend(handed_back(batch[index + 1 :], at))
                stopped, refusal = SENDER_REFUSED, outcome
                break
            results.append(result_for(claimed, outcome, at, deadline))
            if stopped == BREAKER_OPEN:
                log.warning("circuit breaker open for %s after: %s", ctx.schema, describe(outcome))
                # Hand the rest back untouched: no retry is burnt while the provider is sick.
                results.extend(handed_back(batch[index + 1 :], at))
                break
        if must_flush or time.monotonic() - flushed_at > flush_every:
            flush()
    flush()
    if probe and not sent_any:
        breaker.release_probe()  # nothing was sent, so nothing was learnt: let the next probe go
    if refusal is not None:
        pausing.pause_for_sender_refusal(ctx.run, ctx.workspace, refusal)
    return stopped


def run_may_send(run):
    """The run is sending and its mailing is not halted (paused or disabled: `Mailing.is_halted`)."""
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


def claim_holders(run, now):
    """(how many workers hold live claims on the run, when the oldest of those claims would expire)."""
    timeout = timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT)
    agg = Delivery.objects.filter(run=run, status=SENDING, claimed_at__gte=now - timeout).aggregate(
        workers=Count("claimed_by", distinct=True), oldest=Min("claimed_at")
    )
    return agg["workers"], agg["oldest"] + timeout if agg["oldest"] else None


def process_run(run, workspace, *, budget=None, stop_at=None, sender=None, on_progress=None, batches=None):
    """Send what is sendable of a run now, in batches, until nothing is or the time is up.

    `budget` (seconds from now) or `stop_at` (a time.monotonic() value) is a
    hard limit, held between messages and during them: what is not sent by
    then goes back to pending untouched, for the next worker. `batches`: stop
    ("budget") after that many batches (the fair consumer serves one at a time).
    """
    progress = RunProgress()
    me = worker_name()
    journal = SentJournal(connection.schema_name, run.pk)
    ctx = run_context(run, workspace)
    provider = ctx.identity.provider
    sender = sender or worker_sender(provider.config, provider.key)
    breaker = breaker_for(provider.key)  # per provider: one workspace's broken provider pauses no other
    if budget is not None:
        stop_at = min(stop_at or float("inf"), time.monotonic() + budget)
    with ClaimHeartbeat(connection.schema_name, run.pk, me):
        return work_run(
            run,
            ctx,
            progress,
            sender=sender,
            me=me,
            breaker=breaker,
            journal=journal,
            stop_at=stop_at,
            on_progress=on_progress,
            batches=batches,
        )


def work_run(run, ctx, progress, *, sender, me, breaker, journal, stop_at, on_progress, batches=None):
    """process_run's loop: claim, send, record, until nothing is sendable or the time is up."""
    workspace = ctx.workspace
    if ctx.identity.refusal:  # the mailing's From is no longer allowed: pause it and tell the owners
        pausing.pause_for_sender_refusal(run, workspace, Outcome(PERMANENT, None, ctx.identity.refusal, stage="From"))
        progress.state = "paused"
        return progress
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
        # The provider's rate (token bucket) and the month's quota decide how many to claim.
        allowed = sending.allowance(ctx.identity, workspace, 1 if permit.probe else settings.DELIVERY_BATCH_SIZE)
        if allowed.quota_reached:
            if permit.probe:
                breaker.release_probe()
            quotas.stop_run_at_quota(run, workspace)
            progress.state = "quota"
            return progress
        if not allowed.count:  # wait for a token here, or come back later
            if permit.probe:
                breaker.release_probe()
            if allowed.wait > RATE_WAIT_INLINE or (stop_at is not None and time.monotonic() + allowed.wait >= stop_at):
                progress.state, progress.wake_at = "waiting", now + timedelta(seconds=allowed.wait)
                return progress
            time.sleep(allowed.wait)
            continue
        batch = claim_batch(run, me, allowed.count, now)
        sent_before = progress.summary.sent
        if not batch:  # nothing sendable, or the mailing was paused (the claim checks it)
            sending.settle(ctx.identity, workspace, allowed.count, 0, 0)
            if finish_run_if_complete(run, now):
                progress.state = "done"
            elif not run_may_send(run):
                progress.state = "paused"
            else:
                progress.wake_at, busy = wake_time(run, now)
                progress.state = "busy" if busy else "waiting"
            return progress
        stopped = send_batch(
            ctx,
            batch,
            sender=sender,
            breaker=breaker,
            journal=journal,
            me=me,
            probe=permit.probe,
            summary=progress.summary,
            on_progress=on_progress,
            stop_at=stop_at,
        )
        sending.settle(ctx.identity, workspace, allowed.count, len(batch), progress.summary.sent - sent_before)
        if batches is not None:
            batches -= 1
        if stopped == TIME_LIMIT or (stop_at is not None and time.monotonic() >= stop_at) or batches == 0:
            progress.state, progress.wake_at = "budget", timezone.now()
            return progress

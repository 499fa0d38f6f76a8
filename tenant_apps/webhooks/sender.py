"""Sending an endpoint's messages: signed HTTPS POSTs, retried with exponential backoff for 24 hours.

One sender at a time per endpoint (a lease on the endpoint row), so its
messages go out in order and none twice. Each round: the due retries first,
then the waiting outbox events grouped into new messages of up to
WEBHOOKS_BATCH_SIZE. A message's id and body never change, so a receiver
drops a repeat by its `webhook-id` (and each event by its `id`).

Runs inside the workspace's schema.
"""

import http.client
import json
import logging
import random
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from . import signing
from .addresses import RefusedAddress, permitted_target
from .models import Attempt, Endpoint, Message

log = logging.getLogger(__name__)

LEASE_SECONDS = 300  # a sender that died is replaced after this long (its lease runs out)
USER_AGENT = "Rassylka-Webhooks/1.0"


@dataclass
class Reply:
    succeeded: bool
    status_code: int | None = None
    response_ms: int | None = None
    error: str = ""


@lru_cache(maxsize=4)
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle or None)


def tls_context() -> ssl.SSLContext:
    return _tls_context(settings.WEBHOOKS_CA_BUNDLE)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the URL's name for SNI, the certificate and Host."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        # Headers and body may leave in two writes: without this, Nagle and delayed ACKs add ~40 ms each.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Poster:
    """POSTs to one endpoint over one kept-alive connection, reopened after any error."""

    def __init__(self, url: str):
        self.url = url
        parts = urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.connection = None

    def post(self, body: bytes, headers: dict) -> Reply:
        started = time.monotonic()
        try:
            if self.connection is None:
                host, port, address = permitted_target(self.url)  # every new connection resolves and checks again
                self.connection = PinnedHTTPSConnection(
                    host, port, address, timeout=settings.WEBHOOKS_TIMEOUT, context=tls_context()
                )
            self.connection.request("POST", self.path, body=body, headers=headers)
            response = self.connection.getresponse()
            response.read(64 * 1024)
            if response.will_close:
                self.close()
        except RefusedAddress as error:
            self.close()
            return Reply(False, error=str(error)[:300])
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Reply(False, response_ms=elapsed_ms(started), error=describe_error(error))
        code = response.status
        return Reply(200 <= code < 300, code, elapsed_ms(started), "" if 200 <= code < 300 else response.reason[:300])

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def describe_error(error: Exception) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"[:300]
    return (str(error) or error.__class__.__name__)[:300]


# --- the lease ----------------------------------------------------------------------------


def take_lease(endpoint_id: int, now: datetime) -> bool:
    free = Q(sending_until__isnull=True) | Q(sending_until__lt=now)
    taken = Endpoint.objects.filter(free, pk=endpoint_id, is_enabled=True).update(
        sending_until=now + timedelta(seconds=LEASE_SECONDS)
    )
    return bool(taken)


def release_lease(endpoint_id: int) -> None:
    Endpoint.objects.filter(pk=endpoint_id).update(sending_until=None)


# --- forming messages -------------------------------------------------------------------

TAKE_EVENTS_SQL = """
DELETE FROM webhooks_outboxevent WHERE id IN (
    SELECT id FROM webhooks_outboxevent WHERE endpoint_id = %(endpoint)s ORDER BY id LIMIT %(limit)s
)
RETURNING id, event_id, type, payload, occurred_at
"""


def event_key(event_id) -> str:
    """The event's public id, "evt_" + 32 hex digits: the same in every message and endpoint that carries it."""
    return f"evt_{uuid.UUID(str(event_id)).hex}"


def as_json(payload):
    return json.loads(payload) if isinstance(payload, str) else payload  # Django hands jsonb over as text


def message_body(rows) -> str:
    """{"type": "batch", "timestamp": …, "events": [{"id", "type", "timestamp", "data"}, …]} (compact JSON)."""
    items = [
        {"id": event_key(event_id), "type": event_type, "timestamp": occurred_at.isoformat(), "data": as_json(payload)}
        for _pk, event_id, event_type, payload, occurred_at in sorted(rows)
    ]
    document = {"type": "batch", "timestamp": timezone.now().isoformat(), "events": items}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def form_message(endpoint: Endpoint, now: datetime) -> Message | None:
    """Move the oldest waiting events into a new message (one transaction); None when none wait.

    Deleting them from the outbox (rather than marking them) writes no new row
    versions: the message's body is where they live from now on.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TAKE_EVENTS_SQL, {"endpoint": endpoint.pk, "limit": settings.WEBHOOKS_BATCH_SIZE})
        rows = cursor.fetchall()
        if not rows:
            return None
        return Message.objects.create(
            endpoint=endpoint,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            body=message_body(rows),
            event_count=len(rows),
            next_attempt_at=now,
            created=now,
        )


def due_messages(endpoint: Endpoint, now: datetime, limit: int = 50) -> list[Message]:
    return list(
        Message.objects.filter(endpoint=endpoint, status=Message.Status.PENDING, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "id"
        )[:limit]
    )


# --- one attempt ---------------------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    delay = min(settings.WEBHOOKS_RETRY_BASE * 2 ** max(attempts - 1, 0), settings.WEBHOOKS_RETRY_MAX_DELAY)
    return delay * random.uniform(0.9, 1.1)


def deliver(endpoint: Endpoint, message: Message, poster: Poster) -> Reply:
    """POST the message once, log the attempt, and settle or reschedule it."""
    body = message.body.encode("utf-8")
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.headers(endpoint.secret, message.webhook_id, int(time.time()), message.body),
    }
    at = timezone.now()
    reply = poster.post(body, headers)
    now = timezone.now()
    message.attempts += 1
    if reply.succeeded:
        message.status, message.finished_at = Message.Status.DELIVERED, now
    else:
        give_up_at = message.created + timedelta(hours=settings.WEBHOOKS_RETRY_HOURS)
        if now >= give_up_at:
            message.status, message.finished_at = Message.Status.FAILED, now
        else:
            message.next_attempt_at = min(now + timedelta(seconds=retry_delay(message.attempts)), give_up_at)
    with transaction.atomic():
        message.save(update_fields=["status", "finished_at", "attempts", "next_attempt_at"])
        Attempt.objects.create(
            endpoint=endpoint,
            message=message,
            at=at,
            succeeded=reply.succeeded,
            status_code=reply.status_code,
            response_ms=reply.response_ms,
            error=reply.error,
        )
    return reply


# --- an endpoint's round --------------------------------------------------------------------


@dataclass
class Round:
    delivered: int = 0
    failed: int = 0
    disabled: bool = False
    next_due: datetime | None = None
    busy: bool = False  # another sender holds the endpoint


def send_endpoint(endpoint_id: int, *, budget_seconds: float = 60.0) -> Round:
    """Send what is due for the endpoint until nothing is, the endpoint fails, or the budget is spent."""
    outcome = Round()
    now = timezone.now()
    if not take_lease(endpoint_id, now):
        outcome.busy = Endpoint.objects.filter(pk=endpoint_id, is_enabled=True).exists()
        return outcome
    endpoint = Endpoint.objects.get(pk=endpoint_id)
    poster = Poster(endpoint.url)
    stop_at = time.monotonic() + budget_seconds
    try:
        while time.monotonic() < stop_at and not outcome.disabled:
            now = timezone.now()
            batch = due_messages(endpoint, now) or [m for m in [form_message(endpoint, now)] if m]
            if not batch:
                break
            if not send_batch(endpoint, batch, poster, outcome, stop_at):
                break  # it failed: the rest waits for the retry, no hammering of a sick receiver
    finally:
        poster.close()
        release_lease(endpoint_id)
    outcome.next_due = next_due(endpoint_id)
    return outcome


def send_batch(endpoint, batch, poster, outcome, stop_at) -> bool:
    for message in batch:
        if time.monotonic() >= stop_at:
            return False
        reply = deliver(endpoint, message, poster)
        if reply.succeeded:
            outcome.delivered += 1
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            continue
        outcome.failed += 1
        outcome.disabled = note_failure(endpoint)
        return False
    return True


def note_failure(endpoint: Endpoint) -> bool:
    """Start or continue the endpoint's failing period; True if this failure disabled it (after 24 h by default)."""
    from .services import disable_for_failures

    now = timezone.now()
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
        return False
    if now - endpoint.failing_since >= timedelta(hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS):
        return disable_for_failures(endpoint)
    return False


def next_due(endpoint_id: int) -> datetime | None:
    """When this endpoint next has something to send (now, if events wait), or None."""
    if not Endpoint.objects.filter(pk=endpoint_id, is_enabled=True).exists():
        return None
    from .models import OutboxEvent

    if OutboxEvent.objects.filter(endpoint_id=endpoint_id).exists():
        return timezone.now()
    return Message.objects.filter(endpoint_id=endpoint_id, status=Message.Status.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]

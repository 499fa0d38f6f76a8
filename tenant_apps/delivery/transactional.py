"""Transactional messages: one message to one address, sent at once through the delivery engine.

    send_transactional(email=…, subject=…, body_text=…, kind=…)
      -> one Delivery in the kind's stream run + its TransactionalMessage (content, idempotency key)
      -> on commit: tasks.send_transactional_run -> engine.process_run (TransactionalContext)

Each kind (confirmation, welcome, api) has a stream (models.TransactionalStream):
a hidden system mailing that is never scheduled, and one open-ended run that
is opened again whenever a message is added. So a transactional message gets
the engine's retries, attempt log, breaker, quota, suppression list, VERP,
From and DKIM, without a mailing of its own.

Runs inside the workspace's schema, like the engine.
"""

import datetime as dt
from contextlib import nullcontext

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.campaigns.rendering import field_values, fill
from tenant_apps.feedback.engine_hooks import ReturnPaths
from tenant_apps.feedback.services import is_suppressed
from tenant_apps.senders import sending

from .compose import build_message, format_from
from .engine import RunContext
from .models import Delivery, Run, TransactionalMessage, TransactionalStream
from .scheduling import current_workspace
from .unsubscribe import UnsubscribeLinks, list_unsubscribe_headers

Kind = TransactionalStream.Kind

# A stream run never ends: its deadline is far away (retries still stop at DELIVERY_MAX_ATTEMPTS).
STREAM_DEADLINE = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
# While a send task for a stream is queued and not started, more messages need no other task.
QUEUED_SECONDS = 30

# The delivery, in the kind's stream run, and its content in one statement. Nothing comes back when the
# stream does not exist yet, or when the idempotency key was met before (then the caller rolls its
# savepoint back, and the delivery row goes with it).
INSERT_SQL = """
WITH delivery AS (
    INSERT INTO delivery_delivery (run_id, client_id, email, status, attempt_count, next_attempt_at, claimed_by,
                                   last_response)
    SELECT stream.run_id, NULL, %(email)s, 'pending', 0, %(now)s, '', ''
    FROM delivery_transactionalstream stream WHERE stream.kind = %(kind)s
    RETURNING id, run_id
)
INSERT INTO delivery_transactionalmessage
    (delivery_id, kind, idempotency_key, client_id, subject, body_text, body_html, honours_unsubscribe, created)
SELECT delivery.id, %(kind)s, %(key)s, %(client)s, %(subject)s, %(text)s, %(html)s, %(honours)s, %(now)s
FROM delivery
ON CONFLICT (kind, idempotency_key) WHERE idempotency_key > '' DO NOTHING
RETURNING delivery_id, (SELECT run_id FROM delivery)
"""


class _AlreadyAsked(Exception):
    """The idempotency key was used before: the new delivery is rolled back."""


def send_transactional(
    *,
    email: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    values: dict | None = None,
    client=None,
    idempotency_key: str = "",
    kind: str = Kind.API,
) -> Delivery:
    """Store one transactional delivery and queue its sending; returns it at once.

    Placeholders ({{ name }}, {{ email }}, {{ unsubscribe_url }}, {{ preferences_url }},
    {{ fields.<key> }}, and the keys of `values`) are filled in now. The same
    non-empty `idempotency_key` for the same kind gives back the first
    delivery, even when two requests arrive at once (the second waits for
    the first's transaction, then reads its row). A confirmation ignores the
    client's unsubscription (they just asked for it); other kinds stop for an
    unsubscribed client. Every kind stops for a suppressed address.
    """
    honours_unsubscribe = kind != Kind.CONFIRMATION
    filled = fill_values(email, client, values, unsubscribe=honours_unsubscribe)
    now = timezone.now()
    params = {
        "email": email,
        "kind": kind,
        "key": idempotency_key,
        "client": client.pk if client is not None else None,
        "subject": fill(subject, filled).replace("\n", " "),
        "text": fill(body_text, filled),
        "html": fill(body_html, filled, html=True) if body_html else "",
        "honours": honours_unsubscribe,
        "now": now,
    }
    row = _insert(params)
    if row is None:  # no stream yet (it is made on first use), or the key was met before
        stream_for(kind)
        row = _insert(params)
    if row is None:
        return Delivery.objects.get(transactional__kind=kind, transactional__idempotency_key=idempotency_key)
    delivery_id, run_id = row
    schema_name = connection.schema_name
    transaction.on_commit(lambda: queue_sending(schema_name, run_id))  # at once when not in a transaction
    return Delivery(
        pk=delivery_id, run_id=run_id, client=None, email=email, status=Delivery.Status.PENDING, next_attempt_at=now
    )


def _insert(params: dict) -> tuple[int, int] | None:
    """(delivery id, run id) of the stored delivery, or None (no stream yet, or the key was met before)."""
    try:
        # One statement: atomic by itself. Only a keyed request can meet an earlier one; it alone needs a
        # savepoint, to undo its delivery row (and it waits there for a concurrent twin's transaction).
        with transaction.atomic() if params["key"] else nullcontext(), connection.cursor() as cursor:
            cursor.execute(INSERT_SQL, params)
            row = cursor.fetchone()
            if row is None:
                raise _AlreadyAsked
    except _AlreadyAsked:
        return None
    return row


def fill_values(email, client, values, *, unsubscribe):
    filled = {"email": email, "name": "", "unsubscribe_url": "", "preferences_url": ""}
    if client is not None:
        filled |= {"name": client.full_name or ""} | field_values(client.fields)
        if unsubscribe:
            links = UnsubscribeLinks(current_workspace().host, connection.schema_name)
            filled["unsubscribe_url"], filled["preferences_url"] = links.urls(client.pk)
    return filled | {key: str(value) for key, value in (values or {}).items()}


def stream_for(kind: str) -> TransactionalStream:
    """The kind's stream in this workspace, created on first use (safe when two create it at once)."""
    stream = TransactionalStream.objects.select_related("run").filter(kind=kind).first()
    if stream is not None:
        return stream
    now = timezone.now()
    try:
        with transaction.atomic():
            # The system mailing is created directly, never through save_mailing/mailing_changed:
            # it has no schedule; its run is the stream's and is opened by the send task.
            message = Message.objects.create(subject=f"[system] {kind}", body_text=f"[system] {kind}")
            mailing = Mailing.objects.create(name=f"[system] {kind}", message=message, start_at=now, end_at=now)
            run = Run.objects.create(
                mailing=mailing, scheduled_for=now, status=Run.Status.SENDING, started_at=now, deadline=STREAM_DEADLINE
            )
            return TransactionalStream.objects.create(kind=kind, mailing=mailing, run=run)
    except IntegrityError:  # another request created it meanwhile
        return TransactionalStream.objects.select_related("run").get(kind=kind)


def is_stream_run(run) -> bool:
    return TransactionalStream.objects.filter(run_id=run.pk).exists()


def queued_key(schema_name, run_id):
    return f"delivery:transactional:queued:{schema_name}:{run_id}"


def queue_sending(schema_name: str, run_id: int) -> None:
    """Queue the stream's send task, unless one is queued and not started yet (it will see this message)."""
    from .tasks import send_transactional_run

    if cache.add(queued_key(schema_name, run_id), 1, timeout=QUEUED_SECONDS):
        send_transactional_run(schema_name, run_id)


def reopen_stream_run(run_id: int) -> Run | None:
    """The stream's run, back to "sending" if the engine marked it done (a stopped-at-quota run stays)."""
    Run.objects.filter(pk=run_id, status=Run.Status.DONE).update(status=Run.Status.SENDING, finished_at=None)
    return Run.objects.select_related("mailing").filter(pk=run_id).first()


class TransactionalContext(RunContext):
    """RunContext for a stream run: each delivery's content is its own TransactionalMessage.

    No open/click tracking (a confirmation link must reach its page as it is).
    """

    def __init__(self, run, workspace):
        self.run = run
        self.workspace = workspace
        self.schema = connection.schema_name
        self.host = workspace.host
        self.identity = sending.identity_for(run.mailing, self.schema)
        self.links = UnsubscribeLinks(self.host, self.schema)
        self.from_header = format_from(self.identity.from_email)
        self.return_paths = ReturnPaths(workspace.pk)
        self.msgid_domain = settings.BASE_DOMAIN
        self._contents = {}

    def content(self, delivery_id) -> TransactionalMessage | None:
        if delivery_id not in self._contents:
            if len(self._contents) > 1000:
                self._contents.clear()
            self._contents[delivery_id] = (
                TransactionalMessage.objects.select_related("client").filter(delivery_id=delivery_id).first()
            )
        return self._contents[delivery_id]

    def may_send(self, claimed):
        content = self.content(claimed.id)
        if content is None or is_suppressed(claimed.email):
            return False
        client = content.client
        return not (content.honours_unsubscribe and client is not None and not client.is_subscribed)

    def message_for(self, claimed):
        content = self.content(claimed.id)
        headers = self.return_paths.provider_headers(claimed.id)
        if content.honours_unsubscribe and content.client_id is not None:
            headers = {**list_unsubscribe_headers(self.links.url(content.client_id)), **headers}
        message = build_message(
            from_header=self.from_header,
            to=claimed.email,
            subject=content.subject,
            text=content.body_text,
            html=content.body_html,
            headers=headers,
            msgid_domain=self.msgid_domain,
        )
        self._contents.pop(claimed.id, None)
        return self.identity.sign(message)

"""A client's data rights: export everything held about them (GDPR art. 15, 20) and erase them (art. 17).

Export is a dict built from explicit sections, one per app that holds data
about a person: adding a section is one line in EXPORT_SECTIONS.

Erasure removes the client row and rewrites, in one transaction, every
record that has to stay for the reports' numbers (deliveries, attempts,
feedback, suppressions): the address becomes `erased_address(email)`, an
address-shaped stand-in under the reserved `.invalid` domain, and free text
that quoted it (SMTP responses echo "550 5.1.1 <bob@x>: user unknown") is
scrubbed. A final sweep over every text and JSON column of the workspace
schema catches what no section knew about (a column added later, a comment
quoting the address) and reports where it found it.

One hash: HMAC-SHA256 of the lower-cased address, keyed from SECRET_KEY
(Django's salted_hmac). A plain SHA-256 of an email is personal data in all
but name: anyone with a list of addresses (a leak, a guess like
first.last@company) reverses it by hashing them. Keyed, the hash matches only
on this deployment, which is what the log and "was this address erased?"
need. Rotating SECRET_KEY changes the hashes of later erasures.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F, Func, Q, Value
from django.utils import timezone
from django.utils.crypto import salted_hmac

from shared_apps.landing import counters
from tenant_apps.delivery.models import Attempt, Delivery
from tenant_apps.engagement.models import DeliveryEngagement, Hit
from tenant_apps.feedback.models import FeedbackEvent, Suppression, SuppressionLift
from tenants.crossschema import quote_ident

from . import importfile, services
from .models import Client, DataRightsLog, ImportJob, Membership

HASH_SALT = "rassylka.audience.data_rights.email"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never resolves, so never receives mail


def email_hash(email: str) -> str:
    """The one hash of an address in this deployment (64 hex digits)."""
    return salted_hmac(HASH_SALT, email.strip().lower(), algorithm="sha256").hexdigest()


def erased_address(email: str) -> str:
    """What an erased address becomes where a row must stay: a valid, undeliverable, unmistakable email."""
    return f"erased-{email_hash(email)[:32]}@{ERASED_DOMAIN}"


def is_erased(email: str) -> bool:
    return email.endswith("@" + ERASED_DOMAIN)


# --- export -------------------------------------------------------------------------------


def _deliveries_of(client: Client):
    """Deliveries to this client, and to the same address under an earlier (deleted) client."""
    return Delivery.objects.filter(Q(client=client) | Q(email__iexact=client.email))


def _client_section(client: Client) -> dict:
    return {
        "id": client.pk,
        "email": client.email,
        "full_name": client.full_name,
        "comment": client.comment,
        "subscribed": client.is_subscribed,
        "unsubscribed_at": client.unsubscribed_at,
        "created": client.created,
        "updated": client.updated,
        "last_opened_at": client.last_opened_at,
        "last_clicked_at": client.last_clicked_at,
        "custom_fields": client.fields or {},
    }


def _lists_section(client: Client) -> list[dict]:
    memberships = Membership.objects.filter(client=client).select_related("mailing_list").order_by("changed_at")
    return [
        {"list": m.mailing_list.name, "status": m.status, "changed_at": m.changed_at, "source": m.source}
        for m in memberships
    ]


def _chosen_for_section(client: Client) -> list[dict]:
    """Mailings where the client was picked by hand (audience "chosen clients")."""
    return [{"mailing": name} for name in client.mailing_set.order_by("name").values_list("name", flat=True)]


def _deliveries_section(client: Client) -> list[dict]:
    deliveries = _deliveries_of(client).select_related("run__mailing").order_by("run__scheduled_for", "id")
    attempts = {}
    for attempt in Attempt.objects.filter(delivery__in=deliveries).order_by("at", "id"):
        attempts.setdefault(attempt.delivery_id, []).append(
            {
                "at": attempt.at,
                "status": attempt.status,
                "smtp_code": attempt.smtp_code,
                "response": attempt.response,
                "permanent": attempt.permanent,
            }
        )
    return [
        {
            "id": d.pk,
            "mailing": d.run.mailing.name,
            "scheduled_for": d.run.scheduled_for,
            "email": d.email,
            "status": d.status,
            "finished_at": d.finished_at,
            "last_response": d.last_response,
            "attempts": attempts.get(d.pk, []),
        }
        for d in deliveries
    ]


def _tracking_section(client: Client) -> list[dict]:
    hits = Hit.objects.filter(Q(client_id=client.pk) | Q(delivery__in=_deliveries_of(client))).select_related("link")
    return [
        {
            "kind": hit.kind,
            "at": hit.at,
            "delivery": hit.delivery_id,
            "link": hit.link.url if hit.link_id and hit.link else None,
            "machine": hit.machine,
            "reason": hit.reason,
            "network": hit.network,
            "agent": hit.agent,
        }
        for hit in hits.order_by("at", "hit_id")
    ]


def _feedback_section(client: Client) -> dict:
    events = FeedbackEvent.objects.filter(email__iexact=client.email).order_by("occurred_at", "id")
    suppression = Suppression.objects.filter(email=client.email.lower()).first()
    return {
        "events": [
            {
                "kind": e.kind,
                "source": e.source,
                "status_code": e.status_code,
                "diagnostic": e.diagnostic,
                "occurred_at": e.occurred_at,
                "delivery": e.delivery_id,
            }
            for e in events
        ],
        "suppression": {"reason": suppression.reason, "since": suppression.created} if suppression else None,
    }


# The lead adds ("consent_records", ...) at merge; order is the order in the file.
def _consent_section(client: Client) -> list[dict]:
    return [
        {
            "list": record.mailing_list.name if record.mailing_list else None,
            "form": record.form.title if record.form else None,
            "requested_at": record.requested_at,
            "confirmed_at": record.confirmed_at,
            "network": record.network,
            "user_agent_family": record.user_agent_family,
            "language": record.language,
            "consent_text": record.consent_text,
        }
        for record in client.consent_records.select_related("mailing_list", "form").order_by("requested_at")
    ]


EXPORT_SECTIONS: list[tuple[str, Callable[[Client], object]]] = [
    ("client", _client_section),
    ("lists", _lists_section),
    ("consent_records", _consent_section),
    ("chosen_for_mailings", _chosen_for_section),
    ("deliveries", _deliveries_section),
    ("tracking", _tracking_section),
    ("feedback", _feedback_section),
]


def export_client(client: Client) -> dict:
    """Everything this workspace holds about the client (JSON-ready with DjangoJSONEncoder)."""
    return {
        "exported_at": timezone.now(),
        "workspace": connection.schema_name,
        **{name: section(client) for name, section in EXPORT_SECTIONS},
    }


def record_export(client: Client, *, by: str) -> DataRightsLog:
    return DataRightsLog.objects.create(
        action=DataRightsLog.Action.EXPORT, client_id=client.pk, email_hash=email_hash(client.email), by=by
    )


def requests_about(client: Client, limit: int = 5) -> list[DataRightsLog]:
    """The client's latest logged exports (an erased client has no page to show them on)."""
    return list(DataRightsLog.objects.filter(client_id=client.pk)[:limit])


# --- erasure ------------------------------------------------------------------------------


class RegexpReplace(Func):
    """PostgreSQL regexp_replace(text, pattern, replacement, 'gi')."""

    function = "regexp_replace"

    def __init__(self, expression, pattern: str, replacement: str):
        super().__init__(expression, Value(pattern), Value(replacement), Value("gi"))


def _pattern(email: str) -> str:
    """A PostgreSQL regular expression matching exactly this address (backslash before every non-word character)."""
    return re.sub(r"(\W)", r"\\\1", email)


def _like(email: str) -> str:
    return "%" + email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class Erasure:
    """What the sections need: the client, its address and the address's stand-in."""

    client: Client
    email: str
    erased: str

    def scrub(self, column: str) -> RegexpReplace:
        return RegexpReplace(F(column), _pattern(self.email), self.erased)


def _erase_deliveries(erasure: Erasure) -> int:
    deliveries = _deliveries_of(erasure.client)
    Attempt.objects.filter(delivery__in=deliveries, response__icontains=erasure.email).update(
        response=erasure.scrub("response")
    )
    return deliveries.update(client=None, email=erasure.erased, last_response=erasure.scrub("last_response"))


def _erase_tracking(erasure: Erasure) -> int:
    # Hits carry no address; the client's id goes, as on the deliveries, so nothing links them to a person.
    client_id = erasure.client.pk
    return Hit.objects.filter(client_id=client_id).update(client_id=None) + DeliveryEngagement.objects.filter(
        client_id=client_id
    ).update(client_id=None)


def _erase_feedback(erasure: Erasure) -> int:
    # The raw bounce message may hold the address encoded (base64, quoted-printable): it goes whole.
    events = FeedbackEvent.objects.filter(email__iexact=erasure.email).update(
        email=erasure.erased, diagnostic=erasure.scrub("diagnostic"), raw=""
    )
    # A suppression keeps counting (and blocking nothing: no client has the stand-in address).
    suppressions = Suppression.objects.filter(email=erasure.email.lower()).update(email=erasure.erased)
    lifts = SuppressionLift.objects.filter(email__iexact=erasure.email).update(email=erasure.erased)
    return events + suppressions + lifts


def _import_text(job: ImportJob) -> tuple[str, str] | None:
    """(text, codec) of an unfinished import's stored CSV (zipped or not); None if the import refuses it."""
    try:
        codec, _name, _lines = services.scan_encoding(services.open_import_file(job))
        return services.open_import_file(job).read().decode(codec), codec
    except services.ImportRefused:
        return None  # a file the import refuses holds no row it could read


def _replace_import_file(job: ImportJob, data: bytes) -> None:
    if job.file_oid is None:
        job.data = data
        job.save(update_fields=["data"])
        return
    old_oid = job.file_oid
    job.file_oid, job.file_size = importfile.store([data])
    job.save(update_fields=["file_oid", "file_size"])
    importfile.delete(old_oid)


def _erase_from_imports(erasure: Erasure) -> int:
    """Blank the lines of unfinished imports' files that hold the address (finished ones keep no file).

    Lines are blanked, not removed, so the import's line numbers stay right;
    the rejected-rows report loses the address too. A zipped upload is
    written back as the plain CSV it held.
    """
    changed = 0
    needle = erasure.email.lower()
    stored = ImportJob.objects.select_for_update().filter(Q(file_oid__isnull=False) | ~Q(data=b""))
    for job in stored:
        read = _import_text(job)
        if read is None or needle not in read[0].lower():
            continue
        text, codec = read
        lines = text.splitlines(keepends=True)
        kept = "".join(line[len(line.rstrip("\r\n")) :] if needle in line.lower() else line for line in lines)
        # A quoted cell spanning lines could hide the address from the line test; the sweep's rule applies.
        kept = re.sub(re.escape(erasure.email), erasure.erased, kept, flags=re.IGNORECASE)
        _replace_import_file(job, kept.encode("utf-8" if codec == "utf-8-sig" else codec))
        changed += 1
    for job in ImportJob.objects.filter(errors__icontains=erasure.email):
        job.errors = [
            [*error[:-1], erasure.erased] if needle in str(error[-1]).lower() else error for error in job.errors
        ]
        job.save(update_fields=["errors"])
        changed += 1
    return changed


ERASURE_SECTIONS: list[tuple[str, Callable[[Erasure], int]]] = [
    ("deliveries", _erase_deliveries),
    ("tracking", _erase_tracking),
    ("feedback", _erase_feedback),
    ("imports", _erase_from_imports),
]

SWEPT_TYPES = ("text", "character varying", "json", "jsonb")


def _sweep_schema(erasure: Erasure) -> dict[str, int]:
    """Replace the address in every text and JSON column of this schema; {"table.column": rows} where found."""
    schema = connection.schema_name
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s)",
            [schema, list(SWEPT_TYPES)],
        )
        for table, column, data_type, max_length in cursor.fetchall():
            target = f"{quote_ident(schema)}.{quote_ident(table)}"
            text = f"{quote_ident(column)}::text"
            replaced = "regexp_replace(" + text + ", %s, %s, 'gi')"
            if data_type in ("json", "jsonb"):
                replaced = f"({replaced})::{data_type}"
            elif max_length:
                replaced = f"left({replaced}, {int(max_length)})"
            cursor.execute(
                f"UPDATE {target} SET {quote_ident(column)} = {replaced} WHERE {text} ILIKE %s",  # noqa: S608 (quoted)
                [_pattern(erasure.email), erasure.erased, _like(erasure.email)],
            )
            if cursor.rowcount:
                found[f"{table}.{column}"] = cursor.rowcount
    return found


@dataclass(frozen=True)
class ErasureResult:
    client_id: int
    email_hash: str
    erased_as: str
    # Rows each section changed; "swept" lists columns only the final sweep found the address in.
    changed: dict[str, int] = field(default_factory=dict)
    swept: dict[str, int] = field(default_factory=dict)


def erase_client(client: Client, *, by: str) -> ErasureResult:
    """Erase the client: their row and lists go, kept records keep only the hashed stand-in. One transaction."""
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        client_id = client.pk
        erasure = Erasure(client=client, email=client.email, erased=erased_address(client.email))
        changed = {name: section(erasure) for name, section in ERASURE_SECTIONS}
        client.delete()  # memberships and hand-picked mailings go with it
        # The unique-recipient row is dropped at once (not left at 0 with the email); the console index row too.
        counters.recipients_erased([erasure.email])
        services.clients_changed(deleted_ids=[client_id])
        swept = _sweep_schema(erasure)
        hashed = email_hash(erasure.email)
        DataRightsLog.objects.create(action=DataRightsLog.Action.ERASE, client_id=client_id, email_hash=hashed, by=by)
    return ErasureResult(client_id, hashed, erasure.erased, changed, swept)

"""Keeping the console's index (models.MailingIndex, ClientIndex) in step with the workspaces.

Explicit calls, in the transaction of the change, from the services that
change mailings and clients (run inside the workspace's schema):

- `mailings_changed(ids)` / `mailing_deleted(id)` — `delivery.services`:
  every save of a mailing (mailing_changed), its status settling
  (sync_schedule), the engine's pause, a deletion; campaigns' message save
  (the subject is listed);
- `clients_saved(rows)` / `clients_deleted(ids)` — `audience.services`
  (form, delete, CSV import: the import's INSERT returns the rows it made,
  so a batch is one upsert), unsubscribe and resubscribe, feedback's
  complaint unsubscribes. `audience.services.clients_changed` is the one
  call that updates this index and the home page's unique recipients.

The workspace's rows are read in its schema and written to the public tables
with values, never with a cross-schema join: the index works the same when a
workspace's schema lives in another database than the public one.

`repair_workspace(workspace)` rebuilds one workspace's index from its schema
(the periodic `repair_console_index` task walks every workspace a batch at a
time): the safety net, not the way the index gets right.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django_tenants.utils import schema_context

from .models import ClientIndex, MailingIndex

MAILING_COLUMNS = (
    "name",
    "status",
    "is_paused",
    "disabled_by_manager",
    "start_at",
    "end_at",
    "periodicity",
    "message_subject",
)
CLIENT_COLUMNS = ("email", "full_name", "is_subscribed", "created")


def current_workspace_id() -> int | None:
    """The workspace whose schema the connection is in; None in the public schema."""
    from tenant_apps.delivery.scheduling import current_workspace
    from tenants.models import Workspace

    try:
        return current_workspace().pk
    except Workspace.DoesNotExist:
        return None


def _upsert(model, key: str, columns: Sequence[str], workspace_id: int, rows: Sequence[tuple]) -> None:
    """Insert or update (workspace, key) → columns for every row (key first), in one statement."""
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row[0])  # one order for every writer: no deadlock between two batches
    names = [key, *columns]
    fields = {field.column: field for field in model._meta.concrete_fields}
    types = [fields[name].db_type(connection) for name in names]
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in columns)
    table = f"public.{model._meta.db_table}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, {', '.join(names)}) SELECT %s, * FROM unnest({arrays}) "  # noqa: S608
            f"ON CONFLICT (workspace_id, {key}) DO UPDATE SET {updates}",
            [workspace_id, *[list(column) for column in zip(*rows, strict=True)]],
        )


# --- mailings ------------------------------------------------------------------------------------


def mailing_rows(ids: Iterable[int] | None = None) -> list[tuple]:
    """(id, *MAILING_COLUMNS) of the current schema's mailings (all of them when `ids` is None)."""
    from tenant_apps.campaigns.models import Mailing

    mailings = Mailing.objects.all() if ids is None else Mailing.objects.filter(pk__in=list(ids))
    fields = [column for column in MAILING_COLUMNS if column != "message_subject"]
    return list(mailings.order_by("pk").values_list("pk", *fields, Coalesce("message__subject", Value(""))))


def mailings_changed(ids: Iterable[int]) -> None:
    """These mailings of the current workspace were created or changed."""
    workspace_id = current_workspace_id()
    if workspace_id is not None:
        _upsert(MailingIndex, "mailing_id", MAILING_COLUMNS, workspace_id, mailing_rows(ids))


def mailing_deleted(mailing_id: int) -> None:
    workspace_id = current_workspace_id()
    MailingIndex.objects.filter(workspace_id=workspace_id, mailing_id=mailing_id).delete()


# --- clients -------------------------------------------------------------------------------------


def client_rows(ids: Iterable[int] | None = None) -> list[tuple]:
    """(id, *CLIENT_COLUMNS) of the current schema's clients (all of them when `ids` is None)."""
    from tenant_apps.audience.models import Client

    clients = Client.objects.all() if ids is None else Client.objects.filter(pk__in=list(ids))
    return list(clients.order_by("pk").values_list("pk", *CLIENT_COLUMNS))


def client_row(client) -> tuple:
    """A Client as an index row, (id, *CLIENT_COLUMNS), without reading it again."""
    return (client.pk, *(getattr(client, column) for column in CLIENT_COLUMNS))


def clients_saved(rows: Sequence[tuple]) -> None:
    """Clients of the current workspace were created or changed: rows are (id, *CLIENT_COLUMNS)."""
    workspace_id = current_workspace_id()
    if workspace_id is not None:
        _upsert(ClientIndex, "client_id", CLIENT_COLUMNS, workspace_id, rows)


def clients_deleted(ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        ClientIndex.objects.filter(workspace_id=current_workspace_id(), client_id__in=ids).delete()


# --- the repair ----------------------------------------------------------------------------------

REPAIR_BATCH = 5000


def repair_workspace(workspace) -> dict:
    """Make a workspace's index rows equal to its schema's mailings and clients; what changed.

    Reads the schema's rows (a batch at a time for clients), upserts them
    and deletes index rows whose mailing or client no longer exists.
    Returns {"mailings": n, "clients": n, "removed": n}.
    """
    with schema_context(workspace.schema_name), transaction.atomic():
        mailings = mailing_rows()
        _upsert(MailingIndex, "mailing_id", MAILING_COLUMNS, workspace.pk, mailings)
        removed = (
            MailingIndex.objects.filter(workspace_id=workspace.pk)
            .exclude(mailing_id__in=[row[0] for row in mailings])
            .delete()[0]
        )
        client_ids = []
        for batch in _client_batches():
            _upsert(ClientIndex, "client_id", CLIENT_COLUMNS, workspace.pk, batch)
            client_ids.extend(row[0] for row in batch)
        stale = set(ClientIndex.objects.filter(workspace_id=workspace.pk).values_list("client_id", flat=True)) - set(
            client_ids
        )
        if stale:
            removed += ClientIndex.objects.filter(workspace_id=workspace.pk, client_id__in=stale).delete()[0]
    return {"mailings": len(mailings), "clients": len(client_ids), "removed": removed}


def _client_batches():
    """The schema's clients as index rows, REPAIR_BATCH at a time (keyset by id: no OFFSET)."""
    from tenant_apps.audience.models import Client

    last = 0
    while True:
        batch = list(
            Client.objects.filter(pk__gt=last).order_by("pk").values_list("pk", *CLIENT_COLUMNS)[:REPAIR_BATCH]
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]

"""The console's read-only lists across workspace schemas (mailings, clients).

Each list is one UNION ALL over the visible workspaces' tables, ordered and
paginated in PostgreSQL with LIMIT/OFFSET, plus one count query; with a
workspace filter, a single SELECT on that schema. Listing schemas, quoting
and the union itself are `tenants.crossschema`'s.
"""

from dataclasses import dataclass
from datetime import datetime

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery.models import TransactionalStream
from tenants.crossschema import UnionQuery
from tenants.crossschema import table as schema_table


def table(workspace, model):
    return schema_table(workspace.schema_name, model)


def like_pattern(text):
    """An ILIKE pattern matching `text` anywhere, with its wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class MailingRow:
    workspace: object
    id: int
    name: str
    status: str
    is_paused: bool
    disabled_by_manager: bool
    start_at: datetime
    end_at: datetime
    periodicity: str
    message_subject: str | None

    @property
    def status_label(self):
        return Mailing.Status(self.status).label

    @property
    def periodicity_label(self):
        return Mailing.Periodicity(self.periodicity).label


@dataclass
class ClientRow:
    workspace: object
    id: int
    email: str
    full_name: str
    is_subscribed: bool
    created: datetime


def mailings(workspaces, *, status="", name=""):
    """Every mailing of `workspaces`, newest start first."""
    conditions, params = ["TRUE"], []
    if status:
        conditions.append("m.status = %s")
        params.append(status)
    if name:
        conditions.append("m.name ILIKE %s")
        params.append(like_pattern(name))
    where = " AND ".join(conditions)

    def branch(workspace):
        return (
            f"SELECT {int(workspace.pk)}::bigint AS workspace_id, m.id, m.name, m.status, m.is_paused,"  # noqa: S608
            f" m.disabled_by_manager, m.start_at, m.end_at, m.periodicity, msg.subject AS message_subject"
            f" FROM {table(workspace, Mailing)} AS m"
            f" LEFT JOIN {table(workspace, Message)} AS msg ON msg.id = m.message_id"
            f" WHERE {where}"
            # the hidden system mailings of transactional messages (tenant_apps/delivery/transactional.py)
            f" AND NOT EXISTS (SELECT 1 FROM {table(workspace, TransactionalStream)} AS ts WHERE ts.mailing_id = m.id)"
        )

    return UnionQuery(
        workspaces, branch, params, "start_at DESC, workspace_id, id", lambda ws, row: MailingRow(ws, **row)
    )


def clients(workspaces, *, email=""):
    """Every client of `workspaces`, by email."""
    conditions, params = ["TRUE"], []
    if email:
        conditions.append("c.email ILIKE %s")
        params.append(like_pattern(email))
    where = " AND ".join(conditions)

    def branch(workspace):
        return (
            f"SELECT {int(workspace.pk)}::bigint AS workspace_id, c.id, c.email, c.full_name,"  # noqa: S608
            f" c.is_subscribed, c.created FROM {table(workspace, Client)} AS c WHERE {where}"
        )

    return UnionQuery(
        workspaces, branch, params, "lower(email), workspace_id, id", lambda ws, row: ClientRow(ws, **row)
    )

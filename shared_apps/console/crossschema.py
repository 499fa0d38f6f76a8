"""Read-only lists that span workspace schemas.

Each workspace keeps its rows in its own schema, so "every mailing" is one
table per workspace. Instead of entering each schema in turn (one query per
workspace, or worse per row), a list is one UNION ALL over the visible
workspaces' tables, with schema-qualified, quoted identifiers, ordered and
paginated in PostgreSQL with LIMIT/OFFSET; the count is one more query. With
a workspace filter it is a single SELECT on that schema. PostgreSQL plans a
UNION ALL of a few hundred branches in milliseconds (see bench/console_union.py).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message


def quote_ident(name):
    """A PostgreSQL identifier, quoted so any schema name is taken literally."""
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return '"' + name.replace('"', '""') + '"'


def table(workspace, model):
    return f"{quote_ident(workspace.schema_name)}.{quote_ident(model._meta.db_table)}"


def like_pattern(text):
    """An ILIKE pattern matching `text` anywhere, with its wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class UnionQuery:
    """A lazily run UNION ALL over workspace schemas; sliceable, so Paginator can use it."""

    def __init__(self, workspaces, branch_sql, params, order_by, make_row):
        # branch_sql: a SELECT with {workspace_id} and table placeholders, filled per workspace
        self.workspaces = {workspace.pk: workspace for workspace in workspaces}
        self.branch_sql = branch_sql
        self.params = list(params)
        self.order_by = order_by
        self.make_row = make_row

    def _union(self):
        branches, params = [], []
        for workspace in self.workspaces.values():
            branches.append(self.branch_sql(workspace))
            params.extend(self.params)
        return " UNION ALL ".join(f"({branch})" for branch in branches), params

    def count(self):
        if not self.workspaces:
            return 0
        union, params = self._union()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({union}) AS u", params)  # noqa: S608 (identifiers quoted)
            return cursor.fetchone()[0]

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step is not None:
            raise TypeError("UnionQuery supports plain slices only")
        start, stop = key.start or 0, key.stop
        if not self.workspaces or (stop is not None and stop <= start):
            return []
        union, params = self._union()
        sql = f"SELECT * FROM ({union}) AS u ORDER BY {self.order_by}"  # noqa: S608 (identifiers quoted)
        if stop is not None:
            sql += " LIMIT %s"
            params.append(stop - start)
        sql += " OFFSET %s"
        params.append(start)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            columns = [column.name for column in cursor.description]
            rows = cursor.fetchall()
        return [
            self.make_row(self.workspaces[values[0]], dict(zip(columns[1:], values[1:], strict=True)))
            for values in rows
        ]


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

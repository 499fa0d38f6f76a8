"""Counting mailings and clients across workspaces into the public tables.

Both refreshes are single SQL statements with schema-qualified table names,
so they work from whatever schema the connection is in.
"""

# The SQL is assembled from quoted identifiers (schema and table names from our
# own rows and models, through connection.ops.quote_name) and integers only.
# ruff: noqa: S608

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tenants.models import Workspace

from .models import SiteStats, WorkspaceStats

ACTIVE_CONDITION = "status = 'running' AND NOT is_paused AND NOT disabled_by_manager"


def _table(schema_name, model_label):
    quote = connection.ops.quote_name
    return f"{quote(schema_name)}.{quote(apps.get_model(model_label)._meta.db_table)}"


def _mailing_counts_select(schema_name, workspace_id):
    return (
        f"SELECT {int(workspace_id)} AS workspace_id, count(*) AS total, "
        f"count(*) FILTER (WHERE {ACTIVE_CONDITION}) AS active "
        f"FROM {_table(schema_name, 'campaigns.Mailing')}"
    )


def _upsert_workspace_stats(select_sql):
    stats_table = WorkspaceStats._meta.db_table
    return (
        f"INSERT INTO public.{stats_table} (workspace_id, mailings_total, mailings_active, counted_at) "
        f"SELECT workspace_id, total, active, now() FROM ({select_sql}) AS counts "
        "ON CONFLICT (workspace_id) DO UPDATE SET mailings_total = EXCLUDED.mailings_total, "
        "mailings_active = EXCLUDED.mailings_active, counted_at = EXCLUDED.counted_at"
    )


def workspaces_with_schemas():
    """(id, schema_name) of every workspace whose schema exists (creation may be half-way)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        existing = {row[0] for row in cursor.fetchall()}
    rows = Workspace.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list("id", "schema_name")
    return [(pk, schema) for pk, schema in rows if schema in existing]


def recount_workspace(workspace_id, schema_name):
    """Recount one workspace's mailings into its WorkspaceStats row (one statement)."""
    with connection.cursor() as cursor:
        cursor.execute(_upsert_workspace_stats(_mailing_counts_select(schema_name, workspace_id)))


def refresh_all_stats():
    """Recount every workspace and the unique clients: the periodic job, never per request."""
    workspaces = workspaces_with_schemas()
    unique_clients = 0
    if workspaces:
        mailings = " UNION ALL ".join(_mailing_counts_select(schema, pk) for pk, schema in workspaces)
        emails = " UNION ALL ".join(
            f"SELECT lower(email) AS email FROM {_table(schema, 'audience.Client')}" for _pk, schema in workspaces
        )
        with connection.cursor() as cursor:
            cursor.execute(_upsert_workspace_stats(mailings))
            cursor.execute(f"SELECT count(DISTINCT email) FROM ({emails}) AS emails")
            unique_clients = cursor.fetchone()[0]
    SiteStats.objects.update_or_create(
        pk=1,
        defaults={
            "unique_clients": unique_clients,
            "workspaces": len(workspaces),
            "refreshed_at": timezone.now(),
        },
    )
    return unique_clients

"""Finding CSV imports that lost their worker, across every workspace.

A huey worker killed mid-import leaves its job "running" with a heartbeat
that stops moving (or "pending" if it died before starting it). Rather than
entering each schema in turn, one UNION ALL over the workspaces' import
tables finds them; each branch reads only the partial index of unfinished
jobs, so the cost stays small with many workspaces.
"""

# The SQL is assembled from quoted identifiers (schema names from our own
# rows, the table name from the model) only; values are parameters.
# ruff: noqa: S608

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tenants.models import Workspace

from .models import ImportJob
from .services import IMPORT_STALE_AFTER

# Schemas per statement: keeps one statement's size bounded with thousands of workspaces.
SCHEMAS_PER_QUERY = 500


def workspace_schemas():
    """Schema names of every workspace whose schema exists (creation may be half-way)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        existing = {row[0] for row in cursor.fetchall()}
    names = Workspace.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list("schema_name", flat=True)
    return sorted(name for name in names if name in existing)


def stale_jobs_select(schema_name):
    quote = connection.ops.quote_name
    return (
        f"SELECT %s AS schema_name, id FROM {quote(schema_name)}.{quote(ImportJob._meta.db_table)} "
        "WHERE (status = 'pending' AND created < %s) "
        "OR (status = 'running' AND (heartbeat IS NULL OR heartbeat < %s))"
    )


def find_stale_imports(now=None):
    """[(schema name, job id)] of imports waiting or running with no progress for IMPORT_STALE_AFTER."""
    stale_before = (now or timezone.now()) - IMPORT_STALE_AFTER
    schemas = workspace_schemas()
    found = []
    for first in range(0, len(schemas), SCHEMAS_PER_QUERY):
        chunk = schemas[first : first + SCHEMAS_PER_QUERY]
        sql = " UNION ALL ".join(stale_jobs_select(schema) for schema in chunk)
        params = [value for schema in chunk for value in (schema, stale_before, stale_before)]
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ORDER BY 1, 2", params)
            found.extend(cursor.fetchall())
    return found

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

from django.db import connection
from django.utils import timezone

from tenants import crossschema

from .models import ImportJob
from .services import IMPORT_STALE_AFTER


def stale_jobs_select(schema_name):
    return (
        f"SELECT %s AS schema_name, id FROM {crossschema.table(schema_name, ImportJob)} "
        "WHERE (status = 'pending' AND created < %s) "
        "OR (status = 'running' AND (heartbeat IS NULL OR heartbeat < %s))"
    )


def find_stale_imports(now=None):
    """[(schema name, job id)] of imports waiting or running with no progress for IMPORT_STALE_AFTER."""
    stale_before = (now or timezone.now()) - IMPORT_STALE_AFTER
    schemas = [schema for _pk, schema in crossschema.workspace_schemas()]
    found = []
    for chunk in crossschema.chunked(schemas):
        sql = crossschema.union_all(stale_jobs_select(schema) for schema in chunk)
        params = [value for schema in chunk for value in (schema, stale_before, stale_before)]
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ORDER BY 1, 2", params)
            found.extend(cursor.fetchall())
    return found

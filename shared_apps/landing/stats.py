"""The SQL behind the home page's counters, all of it writing public tables.

Every statement uses schema-qualified table names, so it works from whatever
schema the connection is in (a request on a workspace host, a task).
"""

# The SQL is assembled from quoted identifiers (schema and table names from our
# own rows and models, through tenants.crossschema) and integers only.
# ruff: noqa: S608

import logging

from django.db import connection, transaction
from django.utils import timezone

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing
from tenants import crossschema

from .models import RecipientEmail, SiteStats, WorkspaceStats

log = logging.getLogger(__name__)


RECIPIENTS = f"public.{RecipientEmail._meta.db_table}"
SITE_STATS = f"public.{SiteStats._meta.db_table}"


def _mailing_counts_select(schema_name, workspace_id):
    """(workspace id, mailings, active mailings) of one workspace; (sql, params)."""
    active, params = crossschema.where_sql(Mailing.objects.active())
    sql = (
        f"SELECT {int(workspace_id)} AS workspace_id, count(*) AS total, "
        f"count(*) FILTER (WHERE {active}) AS active "
        f"FROM {crossschema.table(schema_name, Mailing)}"
    )
    return sql, params


def _upsert_workspace_stats(select_sql):
    stats_table = WorkspaceStats._meta.db_table
    return (
        f"INSERT INTO public.{stats_table} (workspace_id, mailings_total, mailings_active, counted_at) "
        f"SELECT workspace_id, total, active, now() FROM ({select_sql}) AS counts "
        "ON CONFLICT (workspace_id) DO UPDATE SET mailings_total = EXCLUDED.mailings_total, "
        "mailings_active = EXCLUDED.mailings_active, counted_at = EXCLUDED.counted_at"
    )


def recount_workspace(workspace_id, schema_name):
    """Recount one workspace's mailings into its WorkspaceStats row (one statement)."""
    select, params = _mailing_counts_select(schema_name, workspace_id)
    with connection.cursor() as cursor:
        cursor.execute(_upsert_workspace_stats(select), params)


# --- unique recipients: a reference count per email ------------------------------------------
#
# Within one workspace an email is unique (ignoring case), so each workspace
# holding an email adds exactly 1 to its row. The row reaching 1 is a new
# unique recipient, reaching 0 one gone; SiteStats.unique_clients moves in the
# same statement. Emails are taken in sorted order, so two imports sharing
# emails lock their rows in the same order and never deadlock.

ADD_RECIPIENTS_SQL = f"""
WITH added AS (
    INSERT INTO {RECIPIENTS} AS r (email, refs)
    SELECT email, 1 FROM (SELECT DISTINCT lower(e) AS email FROM unnest(%s::text[]) AS e) AS emails ORDER BY email
    ON CONFLICT (email) DO UPDATE SET refs = r.refs + 1
    RETURNING r.refs
)
INSERT INTO {SITE_STATS} AS s (id, unique_clients, workspaces)
SELECT 1, count(*), 0 FROM added WHERE refs = 1 HAVING count(*) > 0
ON CONFLICT (id) DO UPDATE SET unique_clients = s.unique_clients + EXCLUDED.unique_clients
"""

REMOVE_RECIPIENTS_SQL = f"""
WITH dropped AS (
    UPDATE {RECIPIENTS} SET refs = refs - 1
    WHERE refs > 0 AND email IN (SELECT DISTINCT lower(e) FROM unnest(%s::text[]) AS e)
    RETURNING refs
)
UPDATE {SITE_STATS} SET unique_clients = greatest(unique_clients - (SELECT count(*) FROM dropped WHERE refs = 0), 0)
WHERE id = 1 AND EXISTS (SELECT 1 FROM dropped WHERE refs = 0)
"""


def add_recipients(emails):
    with connection.cursor() as cursor:
        cursor.execute(ADD_RECIPIENTS_SQL, [list(emails)])


def remove_recipients(emails):
    with connection.cursor() as cursor:
        cursor.execute(REMOVE_RECIPIENTS_SQL, [list(emails)])


# Rows at 0 are normally left for the repair (adding the email again revives them);
# an erasure must not leave the address behind, so it deletes them at once.
FORGET_RECIPIENTS_SQL = f"""
DELETE FROM {RECIPIENTS} WHERE refs = 0 AND email IN (SELECT lower(e) FROM unnest(%s::text[]) AS e)
"""


def forget_recipients(emails):
    with connection.cursor() as cursor:
        cursor.execute(FORGET_RECIPIENTS_SQL, [list(emails)])


def _repair_recipients(cursor, workspaces):
    """Rewrite the reference counts from the workspaces' clients; returns (unique, rows corrected).

    The table lock waits for client changes in flight and holds new ones back
    until this commits: a change committed before is in the recount, one after
    adds its own +1/-1 to the repaired row, so none is lost or counted twice.
    """
    cursor.execute(f"LOCK TABLE {RECIPIENTS} IN SHARE ROW EXCLUSIVE MODE")
    # Each chunk of schemas adds its per-email counts; the truth sums them.
    cursor.execute("CREATE TEMPORARY TABLE recipient_counts (email text, refs bigint) ON COMMIT DROP")
    for chunk in crossschema.chunked(workspaces):
        emails = crossschema.union_all(
            f"SELECT lower(email) AS email FROM {crossschema.table(schema, Client)}" for _pk, schema in chunk
        )
        cursor.execute(f"INSERT INTO recipient_counts SELECT email, count(*) FROM ({emails}) AS emails GROUP BY email")
    cursor.execute(
        "CREATE TEMPORARY TABLE recipient_truth ON COMMIT DROP AS "
        "SELECT email, sum(refs)::bigint AS refs FROM recipient_counts GROUP BY email"
    )
    cursor.execute(
        f"DELETE FROM {RECIPIENTS} AS r WHERE NOT EXISTS (SELECT 1 FROM recipient_truth t WHERE t.email = r.email)"
    )
    corrected = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {RECIPIENTS} AS r (email, refs) SELECT email, refs FROM recipient_truth "
        "ON CONFLICT (email) DO UPDATE SET refs = EXCLUDED.refs WHERE r.refs <> EXCLUDED.refs"
    )
    corrected += cursor.rowcount
    cursor.execute("SELECT count(*) FROM recipient_truth")
    unique = cursor.fetchone()[0]
    cursor.execute("DROP TABLE recipient_truth, recipient_counts")  # at once: inside an outer transaction
    return unique, corrected


def refresh_all_stats():
    """Recount every workspace's mailings and every recipient: the periodic repair, never per request.

    The figures are kept right as data changes (see counters.py); this puts
    them right again after anything that went around the services (a manual
    SQL fix, a restored schema, a dropped workspace). Returns the unique
    recipients.
    """
    workspaces = crossschema.workspace_schemas()
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in crossschema.chunked(workspaces):
            selects = [_mailing_counts_select(schema, pk) for pk, schema in chunk]
            mailings = crossschema.union_all(select for select, _params in selects)
            cursor.execute(_upsert_workspace_stats(mailings), [p for _select, params in selects for p in params])
        unique_clients, corrected = _repair_recipients(cursor, workspaces)
        SiteStats.objects.update_or_create(
            pk=1,
            defaults={
                "unique_clients": unique_clients,
                "workspaces": len(workspaces),
                "refreshed_at": timezone.now(),
            },
        )
    if corrected:
        log.info("recipient counts: %s rows corrected by the periodic recount", corrected)
    return unique_clients

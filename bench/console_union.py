# ruff: noqa: S608  (bench-only SQL; schema names are generated here, not input)
"""How the console's cross-schema lists scale with the number of workspaces.

    DEBUG=1 .venv/bin/python bench/console_union.py [ROWS_PER_WORKSPACE]

For 10, 100, 300 and 1000 workspaces, makes bare schemas shaped like a
workspace's (mailings, messages, clients copied from the template schema's
tables), fills each with ROWS_PER_WORKSPACE mailings and clients, and times
one page of the mailings list (the count query and the LIMIT 50 page, each a
UNION ALL over every schema) and an email search over the clients. Drops the
schemas again. Uses DATABASE_URL; needs `manage.py migrate` done there.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from shared_apps.console import crossschema  # noqa: E402
from tenant_apps.audience.models import Client  # noqa: E402
from tenant_apps.campaigns.models import Mailing, Message  # noqa: E402
from tenants import crossschema as tenants_crossschema  # noqa: E402
from tenants.models import Workspace  # noqa: E402

TABLES = [Message, Mailing, Client]
SIZES = [10, 100, 300, 1000]


def make_schemas(count, rows):
    template = tenants_crossschema.quote_ident(settings.TENANT_BASE_SCHEMA)
    workspaces = []
    with connection.cursor() as cursor:
        for n in range(count):
            schema = f"bench_console_{n}"
            cursor.execute(f"CREATE SCHEMA {tenants_crossschema.quote_ident(schema)}")
            for model in TABLES:
                name = tenants_crossschema.quote_ident(model._meta.db_table)
                cursor.execute(f"CREATE TABLE {schema}.{name} (LIKE {template}.{name} INCLUDING ALL)")
            cursor.execute(
                f"INSERT INTO {schema}.campaigns_message (id, subject, body_text, body_html, created, updated)"
                " VALUES (1, 'Hello', 'Hi', '', now(), now())"
            )
            cursor.execute(
                f"INSERT INTO {schema}.campaigns_mailing (name, message_id, audience, start_at, end_at, periodicity,"
                " status, is_paused, disabled_by_manager, created, updated)"
                " SELECT 'mailing ' || i, 1, 'all', now() + i * interval '1 hour', now() + interval '30 days',"
                " 'once', 'created', false, false, now(), now() FROM generate_series(1, %s) AS i",
                [rows],
            )
            cursor.execute(
                f"INSERT INTO {schema}.audience_client (email, full_name, comment, is_subscribed, created, updated)"
                " SELECT 'client' || i || '@ws" + str(n) + ".example', '', '', true, now(), now()"
                " FROM generate_series(1, %s) AS i",
                [rows],
            )
            workspaces.append(Workspace(pk=10_000_000 + n, schema_name=schema, slug=f"bench-{n}", name=schema))
    return workspaces


def drop_schemas(workspaces):
    with connection.cursor() as cursor:
        for workspace in workspaces:
            cursor.execute(f"DROP SCHEMA {tenants_crossschema.quote_ident(workspace.schema_name)} CASCADE")


def timed(action, repeat=5):
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main(rows):
    print(f"rows per workspace: {rows}; median of 5, ms")
    print("workspaces | mailings count | mailings page 1 | mailings page 20 | clients search")
    for count in SIZES:
        workspaces = make_schemas(count, rows)
        try:
            mailings = crossschema.mailings(workspaces)
            clients = crossschema.clients(workspaces, email="client7@")
            figures = [
                timed(mailings.count),
                timed(lambda m=mailings: m[0:50]),
                timed(lambda m=mailings: m[950:1000]),
                timed(lambda c=clients: (c.count(), c[0:50])),
            ]
        finally:
            drop_schemas(workspaces)
        print(f"{count:>10} | " + " | ".join(f"{figure:>8.0f}" for figure in figures))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)

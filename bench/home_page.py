"""The home page with many workspaces: requests per second and queries, cached and cold.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rassylka_bench \\
    DEBUG=1 .venv/bin/python bench/home_page.py [WORKSPACES] [REQUESTS]

Uses its own database (created and migrated on the first run) and keeps the
workspaces it creates there, so later runs reuse them (see ensure_workspaces
for why their schemas hold only the tables the figures read). Each workspace
gets 5 clients (some emails shared with the next workspace) and 3 mailings,
one of them running.

Requests go through Django's full middleware stack in-process (the test
client, host BASE_DOMAIN), so the figures are the application's cost
without a network server in front. "cold" deletes both cache keys before
every request (what a request pays right after a mailing or a post changed).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka_bench")


ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from tqdm import tqdm  # noqa: E402

SEED_SQL = """
INSERT INTO {schema}.audience_client (email, full_name, comment, is_subscribed, created, updated)
SELECT 'person' || n || '@example.com', '', '', true, now(), now()
FROM generate_series(%(first)s, %(first)s + 4) AS n;
INSERT INTO {schema}.campaigns_message (subject, body_text, body_html, created, updated)
VALUES ('Hello', 'Hello', '', now(), now());
INSERT INTO {schema}.campaigns_mailing (name, message_id, audience, start_at, end_at, periodicity, status,
    is_paused, disabled_by_manager, created, updated)
SELECT 'Mailing ' || n, (SELECT max(id) FROM {schema}.campaigns_message), 'all', now(), now() + interval '1 day',
       'once', CASE WHEN n = 1 THEN 'running' ELSE 'created' END, false, false, now(), now()
FROM generate_series(1, 3) AS n;
"""


LIGHT_SCHEMA_SQL = """
CREATE SCHEMA {schema};
CREATE TABLE {schema}.audience_client (LIKE tenant_template.audience_client INCLUDING ALL);
CREATE TABLE {schema}.campaigns_message (LIKE tenant_template.campaigns_message INCLUDING ALL);
CREATE TABLE {schema}.campaigns_mailing (LIKE tenant_template.campaigns_mailing INCLUDING ALL);
"""


def ensure_workspaces(count):
    """`count` bench workspaces: rows, domains and light schemas, made once and reused.

    A full clone of the template costs 0.15-2.5 s per workspace on this shared
    machine (it grows with the number of schemas), i.e. up to 40 minutes for
    1,000. The home page never reads a workspace schema and the periodic
    refresh reads only clients and mailings, so each bench schema holds just
    those tables (copied from the template with LIKE … INCLUDING ALL).
    """
    from tenants import crossschema
    from tenants.models import Domain, Workspace
    from tenants.services import schema_name_for, workspace_host

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.tenants_workspace')")
        migrated = cursor.fetchone()[0] is not None
    if not migrated:
        call_command("migrate", verbosity=0)
    existing = set(Workspace.objects.filter(slug__startswith="bench-").values_list("slug", flat=True))
    missing = [n for n in range(count) if f"bench-{n:04d}" not in existing]
    quote = crossschema.quote_ident
    for n in tqdm(missing, desc="creating workspaces", disable=not missing):
        slug = f"bench-{n:04d}"
        with transaction.atomic():
            workspace = Workspace.objects.bulk_create(
                [Workspace(name=f"Bench {n}", slug=slug, schema_name=schema_name_for(slug))]
            )[0]
            Domain.objects.create(domain=workspace_host(slug), tenant=workspace, is_primary=True)
            schema = quote(workspace.schema_name)
            with connection.cursor() as cursor:
                cursor.execute(LIGHT_SCHEMA_SQL.format(schema=schema))
                # Consecutive workspaces share some emails: unique clients < total clients.
                cursor.execute(SEED_SQL.format(schema=schema), {"first": n * 3})
    return Workspace.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).count()


def forget_home_cache():
    from shared_apps.blog.services import forget_home_posts
    from shared_apps.landing.services import forget_active_mailings

    forget_active_mailings()
    forget_home_posts()


def ensure_posts():
    from shared_apps.blog.models import Post

    for n in range(10 - Post.objects.count()):
        Post.objects.create(title=f"Bench post {n}", body="Some *text*.", status=Post.Status.PUBLISHED)


def measure(client, requests, cold):
    started = time.perf_counter()
    for _ in range(requests):
        if cold:
            forget_home_cache()
        response = client.get("/")
        assert response.status_code == 200, response.status_code
    elapsed = time.perf_counter() - started
    if cold:
        forget_home_cache()
    else:
        client.get("/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    sql = [q["sql"] for q in queries.captured_queries]
    real = [s for s in sql if not s.startswith("SET search_path")]
    return requests / elapsed, len(real), len(sql)


def main(count, requests):
    from shared_apps.landing.services import site_counts
    from shared_apps.landing.stats import refresh_all_stats

    workspaces = ensure_workspaces(count)
    ensure_posts()
    started = time.perf_counter()
    unique = refresh_all_stats()
    refresh_seconds = time.perf_counter() - started
    forget_home_cache()

    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.get("/")  # warm up imports and templates
    counts = site_counts()
    print(
        f"workspaces: {workspaces}, mailings: {counts['mailings_total']}, active: {counts['mailings_active']}, "
        f"unique clients: {unique}"
    )
    print(f"periodic refresh (one UNION ALL over every schema): {refresh_seconds * 1000:.0f} ms")
    for label, cold in (("cached", False), ("cold", True)):
        rps, real, total = measure(client, requests, cold)
        print(f"home page {label}: {rps:.0f} requests/s, {real} queries (+{total - real} SET search_path)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 500)

"""How fast the managers' console answers at 10,000 workspaces, and what the index repair costs.

    DEBUG=1 .venv/bin/python bench/console_index.py [WORKSPACES] [MAILINGS] [CLIENTS]

Adds WORKSPACES (default 10,000) workspace rows with no schema (bulk, in the
public schema) and their console index rows: MAILINGS (10) mailings and
CLIENTS (100) clients each, then times every console page through Django's
test client as a full manager (median of 5 after one warm-up). Then creates
one real workspace with MAILINGS mailings and CLIENTS clients and times
`index.repair_workspace` on it (the periodic repair's cost per workspace).
Removes everything it added at the end. Uses DATABASE_URL.
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from saas import factories  # noqa: E402
from shared_apps.console import index  # noqa: E402
from tenants.models import Workspace  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

FILL_SQL = """
WITH ws AS (
    INSERT INTO tenants_workspace (schema_name, name, slug, owner_id, created, is_active, time_zone, plan_weight)
    SELECT %(prefix)s || g, 'Bench ' || g, %(prefix)s || g, %(owner)s, now(), true, 'Europe/Moscow', 1
    FROM generate_series(1, %(workspaces)s) g
    RETURNING id
), mailings AS (
    INSERT INTO console_mailingindex (workspace_id, mailing_id, name, status, is_paused, disabled_by_manager,
                                      start_at, end_at, periodicity, message_subject)
    SELECT ws.id, m, 'Mailing ' || m || ' of ' || ws.id, (ARRAY['created', 'running', 'completed'])[1 + m %% 3],
           false, m = 7, now() - (ws.id %% 1000) * interval '1 hour' + m * interval '1 minute',
           now() + interval '30 days', 'once', 'News ' || m
    FROM ws, generate_series(1, %(mailings)s) m
    RETURNING 1
)
INSERT INTO console_clientindex (workspace_id, client_id, email, full_name, is_subscribed, created)
SELECT ws.id, c, 'client' || c || '.' || ws.id || '@example.com', 'Client ' || c, c %% 10 <> 0, now()
FROM ws, generate_series(1, %(clients)s) c
"""


def timed(client, url):
    timings = []
    for _ in range(6):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return timings[0] * 1000, statistics.median(timings[1:]) * 1000


def main(workspaces, mailings, clients):
    prefix = f"bench_{uuid.uuid4().hex[:6]}_"
    manager = factories.make_manager(email=f"{prefix}manager@example.com")
    real = None
    try:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                FILL_SQL,
                {
                    "prefix": prefix,
                    "owner": manager.pk,
                    "workspaces": workspaces,
                    "mailings": mailings,
                    "clients": clients,
                },
            )
            cursor.execute("ANALYZE console_mailingindex; ANALYZE console_clientindex; ANALYZE tenants_workspace")
            cursor.execute("SELECT count(*) FROM console_mailingindex")
            indexed_mailings = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM console_clientindex")
            indexed_clients = cursor.fetchone()[0]
        print(
            f"{workspaces:,} workspaces, index: {indexed_mailings:,} mailings, {indexed_clients:,} clients "
            f"(filled in {time.perf_counter() - started:.0f} s)"
        )
        client = Client(HTTP_HOST=settings.BASE_DOMAIN)
        client.force_login(manager)
        some = f"{prefix}{workspaces // 2}"
        pages = [
            ("workspaces", reverse("console:workspaces", urlconf=settings.PUBLIC_SCHEMA_URLCONF), {}),
            ("mailings", reverse("console:mailings", urlconf=settings.PUBLIC_SCHEMA_URLCONF), {}),
            ("mailings, page 100", reverse("console:mailings", urlconf=settings.PUBLIC_SCHEMA_URLCONF), {"page": 100}),
            (
                "mailings, status",
                reverse("console:mailings", urlconf=settings.PUBLIC_SCHEMA_URLCONF),
                {"status": "running"},
            ),
            (
                "mailings, name contains",
                reverse("console:mailings", urlconf=settings.PUBLIC_SCHEMA_URLCONF),
                {"name": "ing 3 of 42"},
            ),
            (
                "mailings, one workspace",
                reverse("console:mailings", urlconf=settings.PUBLIC_SCHEMA_URLCONF),
                {"workspace": some},
            ),
            ("clients", reverse("console:clients", urlconf=settings.PUBLIC_SCHEMA_URLCONF), {}),
            ("clients, page 1000", reverse("console:clients", urlconf=settings.PUBLIC_SCHEMA_URLCONF), {"page": 1000}),
            (
                "clients, email contains",
                reverse("console:clients", urlconf=settings.PUBLIC_SCHEMA_URLCONF),
                {"email": "client7.42"},
            ),
            (
                "clients, one workspace",
                reverse("console:clients", urlconf=settings.PUBLIC_SCHEMA_URLCONF),
                {"workspace": some},
            ),
            ("users", reverse("console:users", urlconf=settings.PUBLIC_SCHEMA_URLCONF), {}),
        ]
        print(f"{'page':26} {'first':>8} {'median':>8}")
        for label, path, query in pages:
            url = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            first, median = timed(client, url)
            print(f"{label:26} {first:5.0f} ms {median:5.0f} ms")

        real = create_workspace(name=f"{prefix}real", slug=f"{prefix}real".replace("_", "-"), owner=manager)
        with schema_context(real.schema_name):
            message = factories.make_message()
            now = timezone.now()
            from tenant_apps.audience.models import Client as AudienceClient
            from tenant_apps.campaigns.models import Mailing

            Mailing.objects.bulk_create(
                Mailing(name=f"M{n}", message=message, start_at=now, end_at=now) for n in range(mailings)
            )
            AudienceClient.objects.bulk_create(AudienceClient(email=f"r{n}@example.com") for n in range(clients))
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            index.repair_workspace(real)
            timings.append(time.perf_counter() - started)
        per = statistics.median(timings)
        print(
            f"repair of one workspace ({mailings} mailings, {clients} clients): {per * 1000:.1f} ms; "
            f"10,000 workspaces: {per * 10_000:.0f} s"
        )
    finally:
        connection.set_schema_to_public()
        if real is not None:
            real.delete(force_drop=True)
        Workspace.objects.filter(schema_name__startswith=prefix).delete()
        manager.delete()


if __name__ == "__main__":
    args = [int(arg) for arg in sys.argv[1:]]
    main(*(args + [10_000, 10, 100][len(args) :]))

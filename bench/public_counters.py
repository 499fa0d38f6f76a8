"""What keeping the home page's unique-recipient count live costs.

    DEBUG=1 .venv/bin/python bench/public_counters.py [CLIENTS]

1. `landing.stats.add_recipients` / `remove_recipients` over CLIENTS new
   emails (default 100,000) in batches of 2,000, as an import calls it (each
   batch in its own transaction): first as new emails, then the same again
   (a second workspace with them), then removing them.
2. The periodic repair (`refresh_all_stats`) with a fresh workspace holding
   CLIENTS clients: the first run fills the counts, the next ones find
   nothing to correct. The workspace is dropped afterwards. Uses DATABASE_URL.
"""

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from shared_apps.landing import stats  # noqa: E402
from tenants.models import Workspace  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

BATCH = 2000


def timed(label, batches, action):
    started = time.perf_counter()
    for emails in batches:
        with transaction.atomic():
            action(emails)
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s ({elapsed / len(batches) * 1000:.0f} ms per batch of {BATCH:,})")


def main(clients):
    tag = uuid.uuid4().hex[:6]
    batches = [
        [f"b{tag}-{first + i}@example.com" for i in range(min(BATCH, clients - first))]
        for first in range(0, clients, BATCH)
    ]
    timed(f"count {clients:,} new emails", batches, stats.add_recipients)
    timed(f"count {clients:,} emails already counted", batches, stats.add_recipients)
    timed(f"uncount {clients:,} emails twice", batches + batches, stats.remove_recipients)

    workspace = create_workspace(name="Counters bench", slug=f"bench-counters-{tag}")
    try:
        with schema_context(workspace.schema_name), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audience_client (email, full_name, comment, is_subscribed, created, updated) "
                "SELECT 'r' || n || '@example.com', '', '', true, now(), now() FROM generate_series(1, %s) AS n",
                [clients],
            )
        for label in ("repair, filling the counts", "repair, nothing to correct", "repair, nothing to correct"):
            started = time.perf_counter()
            unique = stats.refresh_all_stats()
            print(f"{label}: {time.perf_counter() - started:.2f} s ({unique:,} unique recipients)")
    finally:
        Workspace.objects.get(pk=workspace.pk).delete(force_drop=True)
        stats.refresh_all_stats()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

"""How long creating a workspace takes, with N workspaces already there.

    DEBUG=1 .venv/bin/python bench/workspace_creation.py [COUNT] [N ...]

For each N (default: 0): tops the database up to N filler workspaces
(bench-fill-*), then times COUNT (default 20) creations three ways:
- "pool": the sign-up renames a ready pooled schema (the pool is filled
  beforehand, untimed, as the huey task would);
- "clone": the pool is empty, the schema is cloned from pg_catalog;
- "django-tenants": the old way (information_schema clone + fake migrate),
  5 creations only, for comparison.
Prints mean and worst; drops every workspace it made at the end. Uses
DATABASE_URL (default: local PostgreSQL).
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
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.clone import CloneSchema  # noqa: E402

from tenants.models import Workspace  # noqa: E402
from tenants.provisioning import drop_pool, refill_pool  # noqa: E402
from tenants.services import create_workspace  # noqa: E402


def timed_creations(count, prefix):
    timings = []
    for _ in range(count):
        slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        create_workspace(name=slug, slug=slug)
        timings.append(time.perf_counter() - started)
    return timings


def django_tenants_clone(count):
    """The previous path: django-tenants' clone function and a fake migrate of the new schema."""
    timings = []
    for _ in range(count):
        schema = f"bench_old_{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        CloneSchema().clone_schema(settings.TENANT_BASE_SCHEMA, schema)
        call_command("migrate_schemas", tenant=True, fake=True, schema_name=schema, interactive=False, verbosity=0)
        timings.append(time.perf_counter() - started)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    connection.set_schema_to_public()
    return timings


def report(label, existing, timings):
    print(
        f"N={existing:>5}  {label:<15} {len(timings):>3} creations: "
        f"mean {statistics.mean(timings) * 1000:.0f} ms, worst {max(timings) * 1000:.0f} ms",
        flush=True,
    )


def main(count, sizes):
    settings.WORKSPACE_POOL_SIZE = 0  # no refill after a creation: the pool is filled explicitly, untimed
    try:
        for existing in sizes:
            missing = existing - Workspace.objects.exclude(schema_name="public").count()
            if missing > 0:
                drop_pool()
                timed_creations(missing, "bench-fill")
            refill_pool(count)
            report("pool", existing, timed_creations(count, "bench-pool"))
            drop_pool()
            report("clone", existing, timed_creations(count, "bench-clone"))
            report("django-tenants", existing, django_tenants_clone(5))
    finally:
        for workspace in Workspace.objects.filter(slug__startswith="bench-"):
            workspace.delete(force_drop=True)
        drop_pool()


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:]]
    main(arguments[0] if arguments else 20, arguments[1:] or [0])

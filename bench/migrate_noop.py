"""How long a deploy's `migrate` takes with nothing to migrate, with N workspaces.

    DEBUG=1 .venv/bin/python bench/migrate_noop.py [N ...] [--old]

For each N (default 100): tops the database up to N filler workspaces
(bench-mig-*), then times `manage.py migrate` (ours: public, template, only
the workspaces behind) and, with --old, django-tenants' `migrate_schemas`
(Django's migrate in every schema) for comparison. Lines start with N=
(django-tenants' own output goes to stdout too: `| grep ^N=`). Drops the fillers at the end.
"""

import os
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tenants.deploys import schemas_behind_template  # noqa: E402
from tenants.models import Workspace  # noqa: E402
from tenants.services import create_workspace  # noqa: E402


def timed(command, **options):
    started = time.perf_counter()
    call_command(command, stdout=StringIO(), interactive=False, **options)
    return time.perf_counter() - started


def main(sizes, old):
    settings.WORKSPACE_POOL_SIZE = 0  # fillers are cloned directly; no refill queued
    try:
        for existing in sizes:
            for _ in range(existing - Workspace.objects.exclude(schema_name="public").count()):
                slug = f"bench-mig-{uuid.uuid4().hex[:8]}"
                create_workspace(name=slug, slug=slug)
            print(f"N={existing:>5}  manage.py migrate, nothing to do: {timed('migrate'):.1f} s", flush=True)
            started = time.perf_counter()
            behind, checked = schemas_behind_template()
            seconds = time.perf_counter() - started
            print(f"N={existing:>5}  of which finding the schemas behind: {seconds * 1000:.0f} ms ({checked} checked)")
            if old:
                seconds = timed("migrate_schemas")
                print(f"N={existing:>5}  django-tenants migrate_schemas, nothing to do: {seconds:.1f} s", flush=True)
    finally:
        for workspace in Workspace.objects.filter(slug__startswith="bench-mig-"):
            workspace.delete(force_drop=True)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main([int(value) for value in arguments if value.isdigit()] or [100], "--old" in arguments)

"""How long the periodic search for stalled imports takes with many workspaces.

    DEBUG=1 .venv/bin/python bench/import_recovery.py [WORKSPACES]

Creates WORKSPACES (default 100) workspaces bench-recovery-<n>-<random>, each
with 20 finished imports and one stalled one, times
`recovery.find_stale_imports()` (one UNION ALL over every workspace schema;
median of 5), then drops the workspaces. Uses DATABASE_URL.
"""

import datetime
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

from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from tenant_apps.audience import recovery  # noqa: E402
from tenant_apps.audience.models import ImportJob  # noqa: E402
from tenants import crossschema  # noqa: E402
from tenants.services import create_workspace  # noqa: E402


def main(count):
    run = uuid.uuid4().hex[:6]
    old = timezone.now() - datetime.timedelta(hours=1)
    workspaces = []
    try:
        for number in range(count):
            workspace = create_workspace(name=f"Bench {number}", slug=f"bench-recovery-{number}-{run}")
            workspaces.append(workspace)
            with schema_context(workspace.schema_name):
                ImportJob.objects.bulk_create(
                    [ImportJob(file_name="done.csv", data=b"", status="done") for _ in range(20)]
                    + [ImportJob(file_name="stalled.csv", data=b"email\n", status="running", heartbeat=old)]
                )
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            found = recovery.find_stale_imports()
            timings.append(time.perf_counter() - started)
        mine = [row for row in found if row[0] in {w.schema_name for w in workspaces}]
        print(
            f"{count} workspaces ({len(crossschema.workspace_schemas())} schemas searched): "
            f"{len(mine)} stalled imports found in {statistics.median(timings) * 1000:.0f} ms (median of 5)"
        )
    finally:
        for workspace in workspaces:
            workspace.delete(force_drop=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)

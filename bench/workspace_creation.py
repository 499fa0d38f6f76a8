"""How long creating a workspace takes (cloning the template schema).

    DEBUG=1 .venv/bin/python bench/workspace_creation.py [N]

Creates N workspaces named bench-<random>, prints the mean and worst time,
then drops them again. Uses DATABASE_URL (default: local PostgreSQL).
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

from tenants.services import create_workspace  # noqa: E402


def main(count):
    timings, created = [], []
    for _ in range(count):
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        created.append(create_workspace(name=slug, slug=slug))
        timings.append(time.perf_counter() - started)
    for workspace in created:
        workspace.delete(force_drop=True)
    print(f"workspaces created: {count}")
    print(f"mean {statistics.mean(timings) * 1000:.0f} ms, worst {max(timings) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)

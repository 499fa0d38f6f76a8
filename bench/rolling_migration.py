"""How long the rolling job takes to apply one tenant migration to N workspaces, by parallel connections.

    DEBUG=1 .venv/bin/python bench/rolling_migration.py [N=100] [WORKERS ...=1 4 8] [--executor | --compare]

Tops the database up to N filler workspaces (bench-roll-*), then for each
WORKERS count makes every workspace behind by one migration (the deploy
test's harmless leaf: its row forgotten, its table dropped) and times
`run_rolling_migration(workers=WORKERS)`: by replaying the collected SQL,
or with --executor by Django's executor in every schema (as before the
fast path); --compare times both on the same fillers, executor first.
Drops the fillers at the end.
"""

import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from tenants.crossschema import quote_ident, workspace_schemas  # noqa: E402
from tenants.models import RollingMigration, Workspace  # noqa: E402
from tenants.rolling import run_rolling_migration  # noqa: E402
from tenants.services import create_workspace  # noqa: E402
from tenants.tests.test_deploys import HARMLESS, HARMLESS_TABLE  # noqa: E402


def make_every_workspace_behind() -> int:
    schemas = [schema for _id, schema in workspace_schemas()]
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(
                f"DELETE FROM {quote_ident(schema)}.django_migrations WHERE app = %s AND name = %s",  # noqa: S608
                list(HARMLESS),
            )
            cursor.execute(f"DROP TABLE IF EXISTS {quote_ident(schema)}.{quote_ident(HARMLESS_TABLE)}")
    return len(schemas)


def main(size: int, worker_counts: list[int], paths: list[bool]) -> None:
    settings.WORKSPACE_POOL_SIZE = 0
    try:
        for _ in range(size - Workspace.objects.exclude(schema_name="public").count()):
            slug = f"bench-roll-{uuid.uuid4().hex[:8]}"
            create_workspace(name=slug, slug=slug)
        for workers, replay_sql in [(workers, path) for workers in worker_counts for path in paths]:
            behind = make_every_workspace_behind()
            result = run_rolling_migration(workers=workers, batch=100, replay_sql=replay_sql)
            assert len(result.migrated) == behind and not result.failed
            print(
                f"N={behind:>5}  workers={workers}: {result.seconds:.1f} s "
                f"({result.seconds / behind * 1000:.1f} ms per schema, {len(result.replayed)} replayed)  "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        RollingMigration.objects.all().delete()
        for workspace in Workspace.objects.filter(slug__startswith="bench-roll-"):
            workspace.delete(force_drop=True)


if __name__ == "__main__":
    arguments = [int(argument) for argument in sys.argv[1:] if not argument.startswith("--")]
    paths = [False, True] if "--compare" in sys.argv else ["--executor" not in sys.argv]
    main(arguments[0] if arguments else 100, arguments[1:] or [1, 4, 8], paths)

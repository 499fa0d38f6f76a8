"""Rolling tenant migrations: batches, parallel connections, resumption after a stop."""

from django.db import connection

from tenants.models import RollingMigration
from tenants.rolling import run_rolling_migration
from tenants.tests.test_deploys import HARMLESS, HARMLESS_TABLE, forget_migration, has_migration
from tenants.tests.test_provisioning import run_committed


def make_behind(schema, *, drop_table=True):
    """The schema lacks the HARMLESS migration; without its table the migration applies again, with it it fails."""
    forget_migration(schema, *HARMLESS)
    if drop_table:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE "{schema}"."{HARMLESS_TABLE}"')


def test_nothing_behind_creates_no_job(db, workspace):
    result = run_rolling_migration()

    assert result.job is None and result.migrated == []
    assert not RollingMigration.objects.exists()


def test_a_rolling_migration_stopped_half_way_resumes_with_only_the_schemas_still_behind(
    db, workspace, other_workspace
):
    first, second = sorted([workspace.schema_name, other_workspace.schema_name])
    make_behind(first)
    make_behind(second, drop_table=False)  # its table is still there: applying the migration fails
    lines = []

    stopped = run_rolling_migration(workers=1, batch=1, log=lines.append)

    assert stopped.migrated == [first] and stopped.failed
    job = RollingMigration.objects.get()
    assert (job.migrated, job.total, job.failed_schema, job.finished) == (1, 2, second, None)
    assert "already exists" in job.error
    assert has_migration(first, *HARMLESS) and not has_migration(second, *HARMLESS)
    assert any(f"Stopped: {second} failed" in line for line in lines)

    with connection.cursor() as cursor:  # the cause fixed, run again
        cursor.execute(f'DROP TABLE "{second}"."{HARMLESS_TABLE}"')
    resumed = run_rolling_migration(workers=1, batch=1, log=lines.append)

    assert resumed.resumed and resumed.job.pk == job.pk
    assert resumed.migrated == [second]  # the first one is not touched again
    job.refresh_from_db()
    assert (job.migrated, job.total, job.failed_schema) == (2, 2, "")
    assert job.finished is not None
    assert has_migration(second, *HARMLESS)
    assert any(f"Resuming rolling migration #{job.pk}: 1 of 2" in line for line in lines)


def test_parallel_connections_migrate_every_schema_behind_and_record_progress(db, workspace, other_workspace):
    schemas = sorted([workspace.schema_name, other_workspace.schema_name])

    def behind_then_rolled():
        for schema in schemas:
            make_behind(schema)
        result = run_rolling_migration(workers=2, batch=10)
        return result.migrated, [has_migration(schema, *HARMLESS) for schema in schemas]

    outcome, thread = run_committed(behind_then_rolled)
    thread.start()
    thread.join()
    try:
        assert "error" not in outcome, outcome.get("error")
        migrated, present = outcome["value"]
        assert sorted(migrated) == schemas
        assert present == [True, True]
        job = RollingMigration.objects.get()
        assert (job.migrated, job.total) == (2, 2) and job.finished is not None
    finally:
        cleanup, thread = run_committed(lambda: RollingMigration.objects.all().delete())
        thread.start()
        thread.join()

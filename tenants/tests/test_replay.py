"""The rolling job's SQL replay: collected once, replayed per schema in one transaction, the executor otherwise."""

import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection

from tenants.models import RollingMigration
from tenants.replay import collect, names_schema, replay
from tenants.rolling import migrate_schema, run_rolling_migration
from tenants.services import create_workspace
from tenants.tests.test_deploys import HARMLESS, HARMLESS_TABLE, forget_migration, has_migration
from tenants.tests.test_provisioning import run_committed
from tenants.tests.test_rolling import make_behind

# Leaves (Django fills no hole below an applied leaf). A shared app's RunPython, recorded in every
# workspace schema but routed away from it, so applying it again there changes nothing.
RUN_PYTHON = ("blog", "0002_content_managers_group")
# A leaf with real SQL: the test drops its two columns with its row, so applying it again works.
OTHER = ("audience", "0013_subscriptionform_dropped_signups")


def catalog(schema, table):
    """The table's columns, constraints and indexes as PostgreSQL describes them, the schema name left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, ordinal_position, data_type, character_maximum_length, is_nullable, "
            "column_default, is_identity, identity_generation FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [schema, table],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint AS c "
            "JOIN pg_class AS t ON t.oid = c.conrelid JOIN pg_namespace AS n ON n.oid = t.relnamespace "
            "WHERE n.nspname = %s AND t.relname = %s ORDER BY c.conname",
            [schema, table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes "
            "WHERE schemaname = %s AND tablename = %s ORDER BY indexname",
            [f"{schema}.", schema, table],
        )
        indexes = cursor.fetchall()
    assert columns and constraints and indexes
    return columns, constraints, indexes


def migration_rows(schema):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name')  # noqa: S608
        return cursor.fetchall()


def table_exists(schema, table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}"."{table}"'])
        return cursor.fetchone()[0]


def like_index_name(collected):
    """The name of the migration's second statement's object: the secret's LIKE index."""
    return re.search(r'CREATE INDEX "(\w+_like)"', collected.sql).group(1)


@pytest.fixture
def third_workspace(db):
    return create_workspace(name="Initech", slug="initech")


def test_schemas_missing_the_same_schema_only_migration_are_migrated_by_replay_exactly_as_by_the_executor(
    db, workspace, other_workspace
):
    first, second = sorted([workspace.schema_name, other_workspace.schema_name])
    make_behind(first)
    make_behind(second)
    lines = []

    result = run_rolling_migration(workers=1, batch=10, log=lines.append)

    assert sorted(result.replayed) == sorted(result.migrated) == [first, second]
    assert any(line.startswith("By replaying the collected SQL") and "api.0001_api_keys" in line for line in lines)
    make_behind(second)  # now the same migration by Django's executor, for comparison
    migrate_schema(second)
    assert catalog(first, HARMLESS_TABLE) == catalog(second, HARMLESS_TABLE)
    assert catalog(first, HARMLESS_TABLE) == catalog(settings.TENANT_BASE_SCHEMA, HARMLESS_TABLE)
    assert migration_rows(first) == migration_rows(second) == migration_rows(settings.TENANT_BASE_SCHEMA)


def test_the_collected_sql_names_no_schema(db, workspace):
    make_behind(workspace.schema_name)

    collected, reason = collect(workspace.schema_name, frozenset([HARMLESS]))

    assert reason == "" and collected.migrations == (HARMLESS,)
    assert f'CREATE TABLE "{HARMLESS_TABLE}"' in collected.sql
    assert not names_schema(collected.sql, workspace.schema_name)
    assert not names_schema(collected.sql, settings.TENANT_BASE_SCHEMA)


def test_a_schema_qualified_name_is_recognised_and_a_name_merely_starting_like_the_schema_is_not():
    assert names_schema('CREATE INDEX "i" ON "ws_acme"."t" ("c");', "ws_acme")
    assert names_schema("ALTER TABLE WS_ACME.t ADD COLUMN c int;", "ws_acme")
    assert not names_schema('ALTER TABLE "t" ADD CONSTRAINT "ws_acme_fk" CHECK (c > 0);', "ws_acme")
    assert not names_schema('CREATE TABLE "ws_acme_2"."t" ();', "ws_acme")


def test_a_run_python_migration_takes_the_executor_path(db, workspace, other_workspace):
    schemas = sorted([workspace.schema_name, other_workspace.schema_name])
    for schema in schemas:
        forget_migration(schema, *RUN_PYTHON)
    lines = []

    result = run_rolling_migration(workers=1, batch=10, log=lines.append)

    assert sorted(result.migrated) == schemas and result.replayed == []
    assert all(has_migration(schema, *RUN_PYTHON) for schema in schemas)
    assert any("By Django's executor" in line and "runs Python (RunPython)" in line for line in lines)


def test_a_schema_missing_other_migrations_than_the_batch_takes_the_executor_path(
    db, workspace, other_workspace, third_workspace
):
    alike = sorted([workspace.schema_name, other_workspace.schema_name])
    for schema in alike:
        make_behind(schema)
    make_behind(third_workspace.schema_name)
    forget_migration(third_workspace.schema_name, *OTHER)
    with connection.cursor() as cursor:
        cursor.execute(
            f'ALTER TABLE "{third_workspace.schema_name}".audience_subscriptionform '
            "DROP COLUMN dropped_signups, DROP COLUMN last_dropped_at"
        )

    result = run_rolling_migration(workers=1, batch=10)

    assert sorted(result.migrated) == sorted([*alike, third_workspace.schema_name])
    assert sorted(result.replayed) == alike
    assert has_migration(third_workspace.schema_name, *HARMLESS)
    assert has_migration(third_workspace.schema_name, *OTHER)


def test_a_failing_replay_leaves_the_schema_untouched(db, workspace):
    schema = workspace.schema_name
    make_behind(schema)
    collected, _reason = collect(schema, frozenset([HARMLESS]))
    with connection.cursor() as cursor:  # its table would be created, then its index name is taken
        cursor.execute(f'CREATE TABLE "{schema}"."{like_index_name(collected)}" (id int)')

    with pytest.raises(DatabaseError, match="already exists"):
        replay(schema, collected)

    assert not table_exists(schema, HARMLESS_TABLE)
    assert not has_migration(schema, *HARMLESS)


def test_a_replay_failing_in_one_schema_stops_the_job_with_the_schema_untouched_and_the_rerun_resumes(
    db, workspace, other_workspace
):
    first, second = sorted([workspace.schema_name, other_workspace.schema_name])
    make_behind(first)
    make_behind(second)
    # Taken in `second`: the name of its table's row type. (Not the deferred LIKE index, as in the test
    # above: Django's schema editor leaves the transaction aborted when deferred SQL fails, and the
    # executor retries this schema.)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TYPE "{second}"."{HARMLESS_TABLE}" AS ENUM (\'taken\')')
    lines = []

    stopped = run_rolling_migration(workers=1, batch=1, log=lines.append)

    assert stopped.replayed == stopped.migrated == [first] and stopped.failed
    job = RollingMigration.objects.get()
    assert (job.migrated, job.failed_schema, job.finished) == (1, second, None)
    assert "already exists" in job.error
    assert not table_exists(second, HARMLESS_TABLE) and not has_migration(second, *HARMLESS)
    assert any(f"Stopped: {second} failed" in line for line in lines)

    with connection.cursor() as cursor:  # the cause removed, run again
        cursor.execute(f'DROP TYPE "{second}"."{HARMLESS_TABLE}"')
    resumed = run_rolling_migration(workers=1, batch=1)

    assert resumed.resumed and resumed.replayed == resumed.migrated == [second]
    job.refresh_from_db()
    assert job.finished is not None and job.failed_schema == ""
    assert catalog(second, HARMLESS_TABLE) == catalog(first, HARMLESS_TABLE)


def test_migrate_says_which_path_migrated_the_workspaces(db, workspace, other_workspace):
    for schema in (workspace.schema_name, other_workspace.schema_name):
        make_behind(schema)
    out = StringIO()

    call_command("migrate", "--no-replay", stdout=out)

    assert "2 in " in out.getvalue()
    assert "(0 by replaying the collected SQL, 2 by Django's executor)." in out.getvalue()
    assert has_migration(workspace.schema_name, *HARMLESS) and has_migration(other_workspace.schema_name, *HARMLESS)


def test_a_schema_failing_in_deferred_sql_does_not_break_the_next_schemas_on_the_same_connection(
    db, workspace, other_workspace
):
    first, second = sorted([workspace.schema_name, other_workspace.schema_name])

    def first_fails_late():  # committed, on a connection in no transaction, as in a deploy
        make_behind(first)
        make_behind(second)
        collected, _reason = collect(first, frozenset([HARMLESS]))
        with connection.cursor() as cursor:  # the table is created, then its deferred index fails
            cursor.execute(f'CREATE TABLE "{first}"."{like_index_name(collected)}" (id int)')
        result = run_rolling_migration(workers=1, batch=10)
        return like_index_name(collected), result.migrated, result.job.failed_schema, result.job.error

    def repaired():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{first}"."{taken}"')
        run_rolling_migration(workers=1, batch=10)
        RollingMigration.objects.all().delete()
        return has_migration(first, *HARMLESS) and has_migration(second, *HARMLESS)

    outcome, thread = run_committed(first_fails_late)
    thread.start()
    thread.join()
    taken = outcome["value"][0] if "value" in outcome else "none"
    cleanup, thread = run_committed(repaired)
    thread.start()
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert cleanup.get("value") is True, cleanup
    _taken, migrated, failed_schema, error = outcome["value"]
    assert migrated == [second]
    assert failed_schema == first and "already exists" in error

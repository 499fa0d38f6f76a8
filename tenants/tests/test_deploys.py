"""Deploys in seconds: `migrate` finds the workspaces behind the template and migrates only those."""

from io import StringIO

from django.core.management import call_command
from django.db import connection

from tenants.deploys import schemas_behind_template

# A migration no other migration depends on (or migrate refuses the history as inconsistent); the
# migrate test also drops what it creates (the mailing→lists table), so re-applying it works.
# When a later migration comes to depend on it, pick the new leaf.
HARMLESS = ("api", "0001_api_keys")
HARMLESS_TABLE = "api_apikey"


def forget_migration(schema, app, name):
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])
        assert cursor.rowcount == 1


def has_migration(schema, app, name):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])
        return cursor.fetchone() is not None


def test_no_workspace_is_behind_a_freshly_migrated_template(db, workspace, other_workspace):
    behind, checked = schemas_behind_template()

    assert behind == []
    assert checked >= 2


def test_a_workspace_missing_a_template_migration_is_found_and_only_it(db, workspace, other_workspace):
    forget_migration(other_workspace.schema_name, *HARMLESS)

    behind, _checked = schemas_behind_template()

    assert behind == [other_workspace.schema_name]


def test_a_workspace_with_an_extra_migration_row_is_not_behind(db, workspace):
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{workspace.schema_name}".django_migrations (app, name, applied) '
            "VALUES ('gone', '0001_initial', now())"
        )

    assert workspace.schema_name not in schemas_behind_template()[0]


def test_migrate_says_nothing_was_behind_and_leaves_workspaces_alone(db, workspace):
    out = StringIO()

    call_command("migrate", stdout=out)

    assert "behind the template." in out.getvalue()
    assert " 0 behind the template" in out.getvalue()
    assert f"standard:{workspace.schema_name}]" not in out.getvalue()


def test_migrate_migrates_the_workspace_that_is_behind_and_says_so(db, workspace, other_workspace):
    forget_migration(other_workspace.schema_name, *HARMLESS)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{other_workspace.schema_name}"."{HARMLESS_TABLE}"')
    out = StringIO()

    call_command("migrate", stdout=out)

    assert has_migration(other_workspace.schema_name, *HARMLESS)
    assert f"1 behind the template, migrated: {other_workspace.schema_name}." in out.getvalue()
    assert "(1 by replaying the collected SQL, 0 by Django's executor)." in out.getvalue()
    assert f"standard:{workspace.schema_name}]" not in out.getvalue()


def test_migrate_on_an_installed_site_queues_the_home_figures_repair_instead_of_waiting_for_it(db, workspace):
    from huey.contrib.djhuey import HUEY

    from shared_apps.landing.models import SiteStats

    SiteStats.objects.update_or_create(pk=1, defaults={"workspaces": 999, "refreshed_at": "2026-01-01T00:00Z"})
    HUEY.immediate = False  # queued, not run: the test's Redis queue holds it
    try:
        HUEY.flush()
        out = StringIO()
        call_command("migrate", stdout=out)
        queued = [task.name for task in HUEY.pending()]
    finally:
        HUEY.flush()
        HUEY.immediate = True

    assert "Home page figures: repair queued." in out.getvalue()
    assert any(name.endswith("refresh_site_stats") for name in queued)
    assert SiteStats.objects.get().workspaces == 999  # not recounted during the deploy


def test_migrate_of_a_new_installation_fills_the_home_figures_at_once(db, workspace):
    from shared_apps.landing.models import SiteStats

    SiteStats.objects.all().delete()

    call_command("migrate", stdout=StringIO())

    stats = SiteStats.objects.get()
    assert stats.refreshed_at is not None
    assert stats.workspaces >= 1


def test_the_migrations_table_check_looks_in_the_schema_itself_not_the_search_path(db, workspace):
    from django.db.migrations.recorder import MigrationRecorder

    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "ws_no_migrations_yet"')
    try:
        connection.set_schema("ws_no_migrations_yet")  # search_path: the schema, then public (which has the table)
        assert MigrationRecorder(connection).has_table() is False
        connection.set_tenant(workspace)
        assert MigrationRecorder(connection).has_table() is True
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute('DROP SCHEMA "ws_no_migrations_yet"')

"""workspace_export then workspace_import: the same rows in another database; a clash changes nothing."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from saas.factories import make_clients, make_member
from tenants.models import Workspace
from tenants.tests.test_provisioning import run_committed

ROOT = Path(__file__).resolve().parents[2]


def committed(function):
    outcome, thread = run_committed(function)
    thread.start()
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    return outcome.get("value")


def rows_by_table(dbname, schema):
    """{table: sorted rows} of every table in `schema` of database `dbname`."""
    server = connection.settings_dict
    with psycopg2.connect(host=server["HOST"], port=server["PORT"], user=server["USER"], dbname=dbname) as db:
        cursor = db.cursor()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])
        tables = [row[0] for row in cursor.fetchall()]
        result = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{schema}"."{table}"')  # noqa: S608
            result[table] = sorted(map(repr, cursor.fetchall()))
    db.close()
    return result


def manage(args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1", "WORKSPACE_POOL_SIZE": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def fresh_database():
    server = connection.settings_dict
    name = f"{server['NAME']}_move"
    admin = psycopg2.connect(host=server["HOST"], port=server["PORT"], user=server["USER"], dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"postgres://{server['USER']}@{server['HOST']}:{server['PORT']}/{name}"
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_export_then_import_into_a_fresh_database_gives_the_same_rows(db, workspace, tmp_path, fresh_database):
    name, url = fresh_database
    file = tmp_path / "acme.tar.gz"

    def add_rows():
        from tenant_apps.api.keys import create_key

        make_clients("moved1@example.com", "moved2@example.com", workspace=workspace)
        connection.set_tenant(workspace)
        key, _secret = create_key(name="shop", access="read", expires_at=None)
        connection.set_schema_to_public()
        return make_member(workspace, "editor", email="mover@example.com").email, key.secret_hash

    def remove_rows():
        from shared_apps.accounts.models import User
        from tenant_apps.api.models import ApiKey
        from tenant_apps.audience.models import Client
        from tenants.models import ApiKeyHome

        connection.set_tenant(workspace)
        Client.objects.filter(email__startswith="moved").delete()
        ApiKey.objects.filter(secret_hash=key_hash).delete()
        connection.set_schema_to_public()
        ApiKeyHome.objects.filter(secret_hash=key_hash).delete()
        User.objects.filter(email="mover@example.com").delete()

    member_email, key_hash = committed(add_rows)
    try:
        call_command("workspace_export", workspace.slug, str(file))
        migrated = manage(["migrate", "--verbosity", "0"], url)
        assert migrated.returncode == 0, migrated.stderr
        imported = manage(["workspace_import", str(file)], url)
        assert imported.returncode == 0, imported.stderr
        assert f"Workspace {workspace.slug} restored" in imported.stdout

        source = rows_by_table(connection.settings_dict["NAME"], workspace.schema_name)
        target = rows_by_table(name, workspace.schema_name)
        assert source.keys() == target.keys()
        for table in source:
            assert source[table] == target[table], table
        assert any("moved1@example.com" in row for row in target["audience_client"])
        server = connection.settings_dict
        with psycopg2.connect(host=server["HOST"], port=server["PORT"], user=server["USER"], dbname=name) as db:
            cursor = db.cursor()
            cursor.execute("SELECT name FROM tenants_workspace WHERE slug = %s", [workspace.slug])
            assert cursor.fetchone() == (workspace.name,)
            cursor.execute(
                "SELECT domain FROM tenants_domain d JOIN tenants_workspace w ON w.id = d.tenant_id WHERE w.slug = %s",
                [workspace.slug],
            )
            assert cursor.fetchall() == [(workspace.host,)]
            cursor.execute("SELECT 1 FROM accounts_user WHERE email = %s", [member_email])
            assert cursor.fetchone() == (1,)
            cursor.execute(
                "SELECT w.slug FROM tenants_apikeyhome h JOIN tenants_workspace w ON w.id = h.workspace_id "
                "WHERE h.secret_hash = %s",
                [key_hash],
            )
            assert cursor.fetchall() == [(workspace.slug,)]  # a key of the moved workspace is known as its own
        db.close()
    finally:
        committed(remove_rows)


def test_import_refuses_a_workspace_the_database_already_has_and_changes_nothing(db, workspace, tmp_path):
    file = tmp_path / "acme.tar.gz"
    call_command("workspace_export", workspace.slug, str(file))
    before = Workspace.objects.count()

    with pytest.raises(CommandError, match="already has a workspace 'acme'"):
        call_command("workspace_import", str(file))

    assert Workspace.objects.count() == before


def test_export_of_an_unknown_workspace_says_so(db, tmp_path):
    with pytest.raises(CommandError, match="No workspace with the address 'nope'"):
        call_command("workspace_export", "nope", str(tmp_path / "x.tar.gz"))

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_exists

from tenants.access import Role, member_role
from tenants.models import Domain
from tenants.services import create_workspace, validate_slug

TENANT_TABLES = {"audience_client", "campaigns_message", "campaigns_mailing"}


def tables_in(schema):
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_creating_a_workspace_creates_its_schema_with_the_tenant_tables(db, user_factory):
    owner = user_factory()

    workspace = create_workspace(name="Initech", slug="initech", owner=owner)

    assert workspace.schema_name == "ws_initech"
    assert schema_exists("ws_initech")
    assert TENANT_TABLES <= tables_in("ws_initech")
    assert "accounts_user" not in tables_in("ws_initech")
    assert Domain.objects.get(tenant=workspace).domain == "initech.localhost"
    assert member_role(owner, workspace) is Role.OWNER


def test_new_workspace_has_every_migration_the_template_has(db):
    workspace = create_workspace(name="Hooli", slug="hooli")

    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM tenant_template.django_migrations")
        template = set(cursor.fetchall())
        cursor.execute(f"SELECT app, name FROM {workspace.schema_name}.django_migrations")
        cloned = set(cursor.fetchall())
    assert template and template == cloned


def test_template_schema_is_fully_migrated(db):
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    tenant_apps = {"audience", "campaigns", "delivery"}
    expected = {key for key in loader.disk_migrations if key[0] in tenant_apps}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM tenant_template.django_migrations")
        applied = set(cursor.fetchall())
    assert expected <= applied


@pytest.mark.parametrize("slug", ["ab", "Acme", "-acme", "acme-", "ac--me", "ac_me", "a" * 41, "ёжик"])
def test_invalid_slug_is_refused(db, slug):
    with pytest.raises(ValidationError) as error:
        validate_slug(slug)
    assert error.value.code == "invalid"


@pytest.mark.parametrize("slug", ["www", "admin", "api", "mail", "static"])
def test_reserved_slug_is_refused(db, slug):
    with pytest.raises(ValidationError) as error:
        validate_slug(slug)
    assert error.value.code == "reserved"


def test_taken_slug_is_refused(db, workspace):
    with pytest.raises(ValidationError) as error:
        create_workspace(name="Another Acme", slug="acme")
    assert error.value.code == "taken"

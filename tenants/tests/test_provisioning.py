"""Constant-time workspace creation: the pg_catalog clone and the pool (tenants/provisioning.py)."""

import threading

from django.db import connection
from django_tenants.utils import schema_exists

from tenants.models import PooledSchema, Workspace
from tenants.provisioning import clone_template, drop_pool, drop_stale_pool, refill_pool, template_version
from tenants.services import create_workspace

SHAPE_SQL = """
SELECT 'column', c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull || ' ' || a.attidentity::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = %(schema)s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', c.relname || ' ' || k.conname || ' ' || replace(pg_get_constraintdef(k.oid), %(schema)s || '.', '')
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = %(schema)s::regnamespace
UNION ALL
SELECT 'relation', c.relname || ' ' || c.relkind::text FROM pg_class c WHERE c.relnamespace = %(schema)s::regnamespace
"""


def shape(schema):
    """Columns with types and defaults, constraints, and every relation (tables, indexes, sequences) by name."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = pg_catalog")
        cursor.execute(SHAPE_SQL, {"schema": schema})
        rows = set(cursor.fetchall())
    connection.set_schema_to_public()
    return rows


def rows_of(schema, table):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
        return cursor.fetchall()


def schema_oid(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [name])
        row = cursor.fetchone()
        return row and row[0]


def simulate_new_template_migration():
    """What `migrate` does to the template for a new tenant migration: a table and its django_migrations row."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE tenant_template.audience_probe (id bigint PRIMARY KEY)")
        cursor.execute(
            "INSERT INTO tenant_template.django_migrations (app, name, applied) "
            "VALUES ('audience', '9999_probe', now())"
        )


def test_clone_has_the_templates_columns_constraints_indexes_and_migration_rows(db):
    clone_template("clone_probe")

    assert shape("clone_probe") == shape("tenant_template")
    assert rows_of("clone_probe", "django_migrations") == rows_of("tenant_template", "django_migrations")


def test_clone_continues_ids_after_the_templates_rows(db):
    clone_template("clone_probe")

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clone_probe.django_migrations (app, name, applied) VALUES ('x', 'y', now()) RETURNING id"
        )
        new_id = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM tenant_template.django_migrations")
        assert new_id == cursor.fetchone()[0] + 1


def test_sign_up_renames_a_pooled_schema_and_takes_it_out_of_the_pool(db):
    refill_pool(1)
    pooled = PooledSchema.objects.order_by("id").first()
    oid = schema_oid(pooled.schema_name)

    workspace = create_workspace(name="Initech", slug="initech")

    assert schema_oid(workspace.schema_name) == oid
    assert not schema_exists(pooled.schema_name)
    assert not PooledSchema.objects.filter(pk=pooled.pk).exists()


def test_empty_pool_falls_back_to_a_direct_clone(db):
    drop_pool()

    workspace = create_workspace(name="Initech", slug="initech")

    assert shape(workspace.schema_name) == shape("tenant_template")


def test_workspace_created_after_a_new_migration_has_it_although_the_pool_is_older(db):
    refill_pool(1)
    simulate_new_template_migration()

    workspace = create_workspace(name="Initech", slug="initech")

    assert ("audience", "9999_probe") in {row[1:3] for row in rows_of(workspace.schema_name, "django_migrations")}
    assert "audience_probe" in {name.split(" ")[0] for kind, name in shape(workspace.schema_name)}


def test_pooled_schemas_of_an_older_template_are_dropped_and_replaced(db):
    refill_pool(2)
    old = list(PooledSchema.objects.values_list("schema_name", flat=True))
    simulate_new_template_migration()

    dropped = drop_stale_pool()
    refill_pool(2)

    assert dropped == len(old)
    assert not any(schema_exists(name) for name in old)
    assert set(PooledSchema.objects.values_list("template_version", flat=True)) == {template_version()}
    assert PooledSchema.objects.count() == 2


def run_committed(function):
    """Run on the thread's own connection (committed; the test's transaction is not)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error
        finally:
            connection.close()

    return outcome, threading.Thread(target=target)


def test_concurrent_sign_ups_never_get_the_same_pooled_schema(db):
    slugs = [f"rush-{n}" for n in range(4)]

    def pool_oids():
        refill_pool(2)
        return {schema_oid(name) for name in PooledSchema.objects.values_list("schema_name", flat=True)}

    outcome, thread = run_committed(pool_oids)
    thread.start()
    thread.join()
    before = outcome["value"]
    barrier = threading.Barrier(len(slugs))

    def sign_up(slug):
        def run():
            barrier.wait()
            workspace = create_workspace(name=slug, slug=slug)
            return schema_oid(workspace.schema_name)

        return run

    runs = [run_committed(sign_up(slug)) for slug in slugs]
    try:
        for _outcome, thread in runs:
            thread.start()
        for _outcome, thread in runs:
            thread.join()
        errors = [outcome["error"] for outcome, _thread in runs if "error" in outcome]
        oids = [outcome["value"] for outcome, _thread in runs if "value" in outcome]

        assert errors == []
        assert len(set(oids)) == len(slugs)
        assert before <= set(oids)  # both ready schemas were handed out, each to one workspace
    finally:

        def clean_up():
            for workspace in Workspace.objects.filter(slug__in=slugs):
                workspace.delete(force_drop=True)

        _outcome, thread = run_committed(clean_up)
        thread.start()
        thread.join()

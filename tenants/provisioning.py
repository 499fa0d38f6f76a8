"""Workspace schemas in constant time: a pg_catalog clone and a warm pool.

django-tenants' clone function reads `information_schema` 18 times per
clone; those views scan the whole catalog, so creating a workspace grew with
the number of workspaces (2 s at N = 188). Here:

- the template's DDL is read from `pg_catalog` (only the template's own
  objects, by namespace oid) **once per template version** and cached; a
  clone replays it (`CREATE TABLE … (LIKE …)`, constraints, indexes, the
  `django_migrations` rows), so its cost depends on the template, not on N;
- a **pool** of ready, unassigned schemas (`PooledSchema`, schemas named
  `pool_<hex>`) is kept filled by a huey task; sign-up takes one with
  `SELECT … FOR UPDATE SKIP LOCKED` and renames it, inside the sign-up's
  transaction (two sign-ups can never get the same schema). An empty pool
  falls back to a direct clone.
- the template version is an md5 of the template's `django_migrations`; a
  pooled schema records the version it was cloned from and is only handed
  out while that is still the template's version. `migrate` drops pooled
  schemas of an older version and refills the pool.
"""

import uuid

from django.conf import settings
from django.db import connection, transaction

from .crossschema import quote_ident

POOL_PREFIX = "pool_"
# Any 64-bit number of our own: only one process refills the pool at a time.
REFILL_LOCK_KEY = 0x52415353_504F4F4C

_plans: dict[str, list[str]] = {}
TARGET = "\x00TARGET\x00"  # where a replayed statement names the new schema


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_version() -> str:
    """md5 of the template's applied migrations: changes whenever `migrate` migrates it."""
    with connection.cursor() as cursor:
        migrations = f"{quote_ident(template_schema())}.django_migrations"
        cursor.execute(f"SELECT md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) FROM {migrations}")  # noqa: S608
        return cursor.fetchone()[0] or ""


def _qualified(sql: str) -> str:
    """A definition read under search_path=pg_catalog names the template's objects
    as `tenant_template.x`; point them at the target instead."""
    template = template_schema()
    return sql.replace(f'"{template}".', TARGET + ".").replace(f"{template}.", TARGET + ".")


def build_clone_plan() -> list[str]:
    """The statements that recreate the template in a schema named TARGET, from pg_catalog only."""
    template = template_schema()
    statements: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        previous_path = cursor.fetchone()[0]
        # Everything outside pg_catalog comes out schema-qualified in the pg_get_*def texts.
        cursor.execute("SELECT set_config('search_path', 'pg_catalog', true)")
        cursor.execute(
            "SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
            "AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [template],
        )
        tables = cursor.fetchall()
        for _oid, name in tables:
            statements.append(
                f"CREATE TABLE {TARGET}.{quote_ident(name)} (LIKE {quote_ident(template)}.{quote_ident(name)} "
                "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE)"
            )
        # Constraints by their own names (later migrations drop them by name); foreign keys last.
        cursor.execute(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = %s::regnamespace "
            "AND k.contype IN ('p', 'u', 'c', 'x', 'f') "
            "ORDER BY k.contype = 'f', c.relname, k.conname",
            [template],
        )
        for table, name, definition in cursor.fetchall():
            statements.append(
                f"ALTER TABLE {TARGET}.{quote_ident(table)} ADD CONSTRAINT {quote_ident(name)} {_qualified(definition)}"
            )
        # Indexes that back no constraint (those came with their constraint above).
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relnamespace = %s::regnamespace "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid) "
            "ORDER BY 1",
            [template],
        )
        statements.extend(_qualified(row[0]) for row in cursor.fetchall())
        # Rows the template holds (django_migrations, data migrations' rows), then identities past them.
        for _oid, name in tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote_ident(template)}.{quote_ident(name)})")  # noqa: S608
            if cursor.fetchone()[0]:
                source = f"{quote_ident(template)}.{quote_ident(name)}"
                statements.append(f"INSERT INTO {TARGET}.{quote_ident(name)} SELECT * FROM {source}")  # noqa: S608
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p') AND a.attidentity <> '' "
            "AND NOT a.attisdropped",
            [template],
        )
        for table, column in cursor.fetchall():
            cursor.execute(f"SELECT max({quote_ident(column)}) FROM {quote_ident(template)}.{quote_ident(table)}")  # noqa: S608
            highest = cursor.fetchone()[0]
            if highest is not None:
                statements.append(
                    f"ALTER TABLE {TARGET}.{quote_ident(table)} ALTER COLUMN {quote_ident(column)} "
                    f"RESTART WITH {int(highest) + 1}"
                )
        cursor.execute("SELECT set_config('search_path', %s, true)", [previous_path])
    return statements


def clone_plan(version: str) -> list[str]:
    """The clone statements of this template version, built once per process and version."""
    if version not in _plans:
        _plans.clear()
        _plans[version] = build_clone_plan()
    return _plans[version]


def clone_template(target: str, version: str | None = None) -> None:
    """Create schema `target` as a copy of the template (tables, constraints, indexes, migration rows)."""
    plan = clone_plan(version or template_version())
    quoted = quote_ident(target)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted}")
        for statement in plan:
            cursor.execute(statement.replace(TARGET, quoted))


def take_pooled_schema(target: str) -> bool:
    """Rename one ready pooled schema of the current version to `target`; False if none is ready.

    Runs in the caller's transaction: the row stays locked (others skip it)
    until the sign-up commits, and a rolled-back sign-up gives it back.
    """
    from .models import PooledSchema

    with transaction.atomic():
        pooled = (
            PooledSchema.objects.select_for_update(skip_locked=True)
            .filter(template_version=template_version())
            .order_by("id")
            .first()
        )
        if pooled is None:
            return False
        pooled.delete()
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER SCHEMA {quote_ident(pooled.schema_name)} RENAME TO {quote_ident(target)}")
    return True


def provide_schema(target: str) -> str:
    """The schema of a new workspace: from the pool, else a direct clone. Returns "pool" or "clone"."""
    if take_pooled_schema(target):
        transaction.on_commit(schedule_refill)
        return "pool"
    clone_template(target)
    transaction.on_commit(schedule_refill)
    return "clone"


def schedule_refill() -> None:
    if settings.WORKSPACE_POOL_SIZE > 0:
        from .tasks import refill_workspace_pool

        refill_workspace_pool()


def drop_stale_pool(version: str | None = None) -> int:
    """Drop pooled schemas cloned from an older template version; returns how many."""
    from .models import PooledSchema

    version = version or template_version()
    dropped = 0
    for pooled in PooledSchema.objects.exclude(template_version=version):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(pooled.schema_name)} CASCADE")
            pooled.delete()
        dropped += 1
    return dropped


def refill_pool(size: int | None = None) -> int:
    """Clone until `size` (WORKSPACE_POOL_SIZE) current schemas are ready; returns how many were made.

    A session advisory lock keeps two refills from overfilling the pool; the
    second one simply returns 0.
    """
    from .models import PooledSchema

    size = settings.WORKSPACE_POOL_SIZE if size is None else size
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFILL_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0
    try:
        version = template_version()
        drop_stale_pool(version)
        made = 0
        while PooledSchema.objects.filter(template_version=version).count() < size:
            name = POOL_PREFIX + uuid.uuid4().hex[:16]
            with transaction.atomic():
                clone_template(name, version)
                PooledSchema.objects.create(schema_name=name, template_version=version)
            made += 1
        return made
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [REFILL_LOCK_KEY])
        connection.set_schema_to_public()


def drop_pool() -> int:
    """Drop every pooled schema (tests and benchmarks)."""
    from .models import PooledSchema

    count = 0
    for pooled in PooledSchema.objects.all():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(pooled.schema_name)} CASCADE")
            pooled.delete()
        count += 1
    return count

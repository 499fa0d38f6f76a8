"""The rolling job's fast path: collect a tenant migration's SQL once, replay it in every schema behind.

Django's migration executor costs 240–340 ms of Python per schema (the
graph, the models' state, the operations), under the GIL, so 10,000
workspaces took ~40 min however many connections. But schemas cloned from
the same template version lack the same migrations, and a migration made
only of schema operations is the same SQL in each of them: Django's
generated SQL names tables unqualified (found through `search_path`), and
its index and constraint names are digests of the table and column names,
never of the schema. So the job collects that SQL once, as `sqlmigrate`
does (the schema editor in collect mode, nothing executed), against a
schema that is behind (the editor reads constraint names from the
database, and only a behind schema has the old ones), and then each schema
runs it in ONE transaction with `SET LOCAL search_path` to that schema,
together with its `django_migrations` rows: a schema is fully migrated or
untouched, and `schemas_behind_template` still tells which are done.

Refused (the executor then migrates those schemas, so correctness never
depends on this path): an operation that does not reduce to SQL
(`RunPython`, `reduces_to_sql = False`), a non-atomic migration (`CREATE
INDEX CONCURRENTLY` cannot run in a transaction), a squashed migration
(the executor records the replaced ones), a plan that is not exactly the
missing rows, and SQL that names the collecting schema.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import SeparateDatabaseAndState
from django.utils import timezone

from .crossschema import quote_ident

Rows = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Replay:
    migrations: tuple[tuple[str, str], ...]  # (app, name) in the executor's order
    sql: str  # every statement, unqualified
    statements: int

    def describe(self) -> str:
        return ", ".join(f"{app}.{name}" for app, name in self.migrations)


def _operations(operations: Iterable) -> Iterable:
    """Every operation, those inside SeparateDatabaseAndState's database side included."""
    for operation in operations:
        yield operation
        if isinstance(operation, SeparateDatabaseAndState):
            yield from _operations(operation.database_operations)


def refusal(plan: list) -> str:
    """Why this plan cannot be replayed as SQL ("" when it can)."""
    for migration, backwards in plan:
        name = f"{migration.app_label}.{migration.name}"
        if backwards:
            return f"{name} is unapplied"
        if migration.replaces:
            return f"{name} is a squashed migration"
        if not migration.atomic:
            return f"{name} is not atomic"
        for operation in _operations(migration.operations):
            if not operation.reduces_to_sql:
                return f"{name} runs Python ({type(operation).__name__})"
    return ""


def _only_comments(statement: str) -> bool:
    """The collector's "-- operation" headers and "-- (no-op)" markers; nothing to run."""
    return all(not line.strip() or line.lstrip().startswith("--") for line in statement.splitlines())


def names_schema(sql: str, schema: str) -> bool:
    """Whether `sql` qualifies a name with `schema` (`schema.x` or `"schema".x`): then it is not portable."""
    name = f"(?:{re.escape(quote_ident(schema))}|{re.escape(schema)})"
    return re.search(rf'(?<![\w$"]){name}\s*\.', sql, re.IGNORECASE) is not None


def collect(schema: str, missing: Rows) -> tuple[Replay | None, str]:
    """The SQL of the migrations `schema` lacks (collected, not applied), or why it cannot be replayed."""
    connection.set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        planned = tuple((migration.app_label, migration.name) for migration, _backwards in plan)
        if frozenset(planned) != missing:
            return None, "the migrations to apply are not exactly the rows missing"
        reason = refusal(plan)
        if reason:
            return None, reason
        # Like the executor's migrate (from the applied migrations' state), not the loader's
        # collect_sql (from the first migration's ancestors only, wrong across apps).
        state = executor._create_project_state(with_applied_migrations=True)
        statements: list[str] = []
        for migration, _backwards in plan:
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
            statements.extend(editor.collected_sql)
    finally:
        connection.set_schema_to_public()
    statements = [statement for statement in statements if not _only_comments(statement)]
    if any(names_schema(statement, schema) for statement in statements):
        return None, f"the SQL names the schema {schema}"
    return Replay(migrations=planned, sql="\n".join(statements), statements=len(statements)), ""


def _search_path(schema: str) -> str:
    """The path django-tenants gives a workspace: the schema, public, the configured extras."""
    names = [schema, settings.PUBLIC_SCHEMA_NAME, *getattr(settings, "PG_EXTRA_SEARCH_PATHS", [])]
    return ", ".join(quote_ident(name) for name in names)


def replay(schema: str, collected: Replay) -> None:
    """Run the collected SQL and record its migrations in `schema`, all in one transaction.

    One cursor throughout: django-tenants sets the session's search_path when
    a cursor is opened, which would override the SET LOCAL.
    """
    rows = ", ".join(["(%s, %s, %s)"] * len(collected.migrations))
    now = timezone.now()
    params = [value for app, name in collected.migrations for value in (app, name, now)]
    nested = connection.in_atomic_block  # a savepoint: SET LOCAL would outlive it
    with transaction.atomic(), connection.cursor() as cursor:
        if nested:
            cursor.execute("SELECT current_setting('search_path')")
            (outer_path,) = cursor.fetchone()
        # No parameters: the collected SQL is sent as it is (a % in it stays a %).
        cursor.execute(f"SET LOCAL search_path TO {_search_path(schema)};\n{collected.sql}")
        cursor.execute(f"INSERT INTO django_migrations (app, name, applied) VALUES {rows}", params)  # noqa: S608
        if nested:
            cursor.execute("SELECT set_config('search_path', %s, true)", [outer_path])

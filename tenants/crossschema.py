"""SQL that spans workspace schemas: the one place that lists schemas, quotes names and unions branches.

Each workspace keeps its rows in its own PostgreSQL schema, so "every
mailing" or "every client" is one table per workspace. Instead of entering
each schema in turn (a query per workspace), callers build one SELECT per
workspace with schema-qualified, quoted table names and join them with
UNION ALL into a single statement; PostgreSQL plans a UNION ALL of a few
hundred branches in milliseconds.

Used only off the request path: the home page's counters (the periodic
repair) and the import recovery (stale jobs). The managers' console reads
its public index instead (shared_apps/console/index.py), so no page depends
on every schema living in one database. Only identifiers
from our own rows and models, and integers, are put into the SQL; values
are always parameters.
"""

from collections.abc import Iterable, Iterator, Sequence

from django.conf import settings
from django.db import connection
from django.db.models import Model, QuerySet

from .models import Workspace


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted so any schema name is taken literally.

    Unlike `connection.ops.quote_name`, an embedded double quote is doubled,
    so a name can never close the quotes and inject SQL.
    """
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return '"' + name.replace('"', '""') + '"'


def table(schema_name: str, model: type[Model]) -> str:
    """`"schema"."table"` of a workspace model in the given schema."""
    return f"{quote_ident(schema_name)}.{quote_ident(model._meta.db_table)}"


def workspace_schemas() -> list[tuple[int, str]]:
    """(workspace id, schema name) of every workspace whose schema exists, by schema name.

    A workspace row may exist before its schema does (creation half-way), and
    a query naming a missing schema would fail whole; the public workspace is
    not a workspace schema.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w.id, w.schema_name FROM public.{Workspace._meta.db_table} AS w "  # noqa: S608
            "JOIN pg_catalog.pg_namespace AS n ON n.nspname = w.schema_name "
            "WHERE w.schema_name <> %s ORDER BY w.schema_name",
            [settings.PUBLIC_SCHEMA_NAME],
        )
        return cursor.fetchall()


def union_all(branches: Iterable[str]) -> str:
    """One statement from SELECTs with the same columns (each in parentheses, so each may ORDER/LIMIT)."""
    return " UNION ALL ".join(f"({branch})" for branch in branches)


# Schemas per UNION ALL statement. One statement over every schema fails near 10,000
# workspaces (PostgreSQL's "stack depth limit exceeded" planning the union), and
# its size and planning time grow with N; a few hundred branches plan in milliseconds.
SCHEMAS_PER_STATEMENT = 500


def chunked(items: Sequence, size: int | None = None) -> Iterator[Sequence]:
    """`items` in slices of `size` (default SCHEMAS_PER_STATEMENT): one statement's size stays bounded."""
    size = size or SCHEMAS_PER_STATEMENT
    for first in range(0, len(items), size):
        yield items[first : first + size]


def where_sql(queryset: QuerySet) -> tuple[str, list]:
    """The WHERE condition of a queryset on one model, as (sql, params), for cross-schema SQL.

    So a condition defined once with the ORM (e.g. `Mailing.objects.active()`)
    is the same in raw SQL. Columns come out qualified with the bare table
    name (`"campaigns_mailing"."status"`), which PostgreSQL resolves against
    `FROM "ws_x"."campaigns_mailing"` written without an alias.
    """
    query = queryset.query
    if query.alias_map and len(query.alias_map) > 1:
        raise ValueError("where_sql takes a queryset on one table (no joins)")
    sql, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
    return sql or "TRUE", list(params)

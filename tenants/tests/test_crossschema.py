"""tenants.crossschema: the one module that lists workspace schemas, quotes names and unions them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenants import crossschema
from tenants.models import Workspace

pytestmark = pytest.mark.django_db


def test_quote_ident_doubles_quotes_so_a_name_cannot_close_them():
    assert crossschema.quote_ident("ws_acme") == '"ws_acme"'
    assert crossschema.quote_ident('x"; DROP TABLE y; --') == '"x""; DROP TABLE y; --"'


def test_quote_ident_refuses_a_nul_character():
    with pytest.raises(ValueError):
        crossschema.quote_ident("bad\x00name")


def test_a_schema_name_with_a_quote_is_taken_literally():
    schema = 'odd"name'
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {crossschema.quote_ident(schema)}")
        cursor.execute(f"CREATE TABLE {crossschema.table(schema, Client)} (email text)")
        cursor.execute(f"INSERT INTO {crossschema.table(schema, Client)} VALUES ('q@example.com')")
        cursor.execute(f"SELECT email FROM {crossschema.table(schema, Client)}")
        assert cursor.fetchall() == [("q@example.com",)]


def test_workspace_schemas_lists_existing_workspace_schemas_only_in_order(workspace, other_workspace):
    Workspace.objects.bulk_create([Workspace(name="Half-made", slug="half-made", schema_name="ws_half_made")])

    listed = crossschema.workspace_schemas()

    schemas = [schema for _pk, schema in listed]
    assert (workspace.pk, workspace.schema_name) in listed and (
        other_workspace.pk,
        other_workspace.schema_name,
    ) in listed
    assert "ws_half_made" not in schemas, "its schema does not exist yet"
    assert "public" not in schemas
    assert schemas == sorted(schemas)


def test_union_all_reads_every_workspace_in_one_statement(workspace, other_workspace):
    for ws, email in ((workspace, "a@acme.example"), (other_workspace, "g@globex.example")):
        with schema_context(ws.schema_name):
            Client.objects.create(email=email)
    branches = [f"SELECT email FROM {crossschema.table(ws.schema_name, Client)}" for ws in (workspace, other_workspace)]

    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute(f"SELECT email FROM ({crossschema.union_all(branches)}) AS u ORDER BY 1")
        rows = cursor.fetchall()

    assert rows == [("a@acme.example",), ("g@globex.example",)]
    assert len([q for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]) == 1


def test_chunked_keeps_every_item_in_bounded_slices():
    assert list(crossschema.chunked(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_where_sql_carries_an_orm_condition_into_cross_schema_sql(workspace):
    with schema_context(workspace.schema_name):
        message = Message.objects.create(subject="s", body_text="b")
        start = timezone.now() + datetime.timedelta(days=1)
        when = {"start_at": start, "end_at": start + datetime.timedelta(days=1)}
        keep = Mailing.objects.create(name="keep", message=message, **when)
        Mailing.objects.create(name="drop", message=message, **when)
    condition, params = crossschema.where_sql(Mailing.objects.filter(name="keep"))

    with connection.cursor() as cursor:  # from the public schema, through the qualified table
        cursor.execute(f"SELECT id FROM {crossschema.table(workspace.schema_name, Mailing)} WHERE {condition}", params)
        assert cursor.fetchall() == [(keep.pk,)]


def test_where_sql_refuses_a_queryset_with_joins():
    with pytest.raises(ValueError):
        crossschema.where_sql(Mailing.objects.filter(message__subject="s"))

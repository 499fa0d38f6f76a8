"""CSV export: all or filtered clients, UTF-8 with a BOM, and a lossless round trip."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django_tenants.utils import schema_context

from tenant_apps.audience import services
from tenant_apps.audience.models import Client, ImportJob

pytestmark = pytest.mark.django_db


def download(http, **params):
    response = http.get("/clients/export/", params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content)


def rows_of(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_export_is_a_utf8_csv_with_a_bom_and_a_header(editor, workspace, clients_of):
    clients_of(workspace, "anna@example.com", full_name="Анна", comment='Сказала "да", потом\nперезвонить')

    response, data = download(editor)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="clients-acme-')
    assert data.startswith(b"\xef\xbb\xbfemail,full_name,comment,subscribed,unsubscribed_at,created\r\n")
    [row] = rows_of(data)
    assert (row["email"], row["full_name"], row["comment"], row["subscribed"]) == (
        "anna@example.com",
        "Анна",
        'Сказала "да", потом\nперезвонить',
        "yes",
    )


def test_export_takes_the_same_filters_as_the_list(editor, workspace, clients_of):
    clients_of(workspace, "in-a@example.com", "in-b@sample.org")
    clients_of(workspace, "out-a@example.com", is_subscribed=False)

    _, unsubscribed = download(editor, status="unsubscribed")
    _, searched = download(editor, q="sample")

    assert [r["email"] for r in rows_of(unsubscribed)] == ["out-a@example.com"]
    assert [r["email"] for r in rows_of(searched)] == ["in-b@sample.org"]


def test_the_list_links_to_the_export_with_its_filters(editor):
    page = editor.get("/clients/", {"q": "x", "status": "subscribed"}).content.decode()

    assert 'href="/clients/export/?q=x&amp;status=subscribed"' in page


def test_cells_that_spreadsheets_would_run_as_formulas_are_defused(editor, workspace, clients_of):
    clients_of(workspace, "formula@example.com", full_name="=HYPERLINK(1)", comment="+7 999")

    _, data = download(editor)

    [row] = rows_of(data)
    assert (row["full_name"], row["comment"]) == ("'=HYPERLINK(1)", "'+7 999")


def test_export_then_import_into_the_same_workspace_changes_nothing(editor, workspace, clients_of):
    clients_of(workspace, "one@example.com", full_name="=Formula", comment="a, b; c\n«d»")
    clients_of(workspace, "Two@Example.com", is_subscribed=False)
    with schema_context(workspace.schema_name):
        before = list(Client.objects.order_by("pk").values())

    _, data = download(editor)
    with schema_context(workspace.schema_name):
        job = services.run_import(ImportJob.objects.create(file_name="export.csv", data=data))
        after = list(Client.objects.order_by("pk").values())

    assert after == before
    assert (job.created_count, job.existing_count, job.error_count) == (0, 2, 0)


def test_export_then_import_into_another_workspace_copies_every_client(editor, workspace, other_workspace, clients_of):
    clients_of(workspace, "copy@example.com", full_name="-минус", comment="@home\r\nи ещё")
    clients_of(workspace, "plain@example.com")

    _, data = download(editor)
    with schema_context(other_workspace.schema_name):
        services.run_import(ImportJob.objects.create(file_name="export.csv", data=data))
        copied = set(Client.objects.values_list("email", "full_name", "comment"))

    assert copied == {("copy@example.com", "-минус", "@home\r\nи ещё"), ("plain@example.com", "", "")}

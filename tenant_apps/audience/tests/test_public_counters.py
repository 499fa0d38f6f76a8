"""Every change to a workspace's clients reaches the home page's "unique recipients" at once.

The figure counts distinct emails (case ignored) across every workspace; the
periodic recount is only a repair, so none of these tests runs it.
"""

import pytest
from django_tenants.utils import schema_context

from tenant_apps.audience import services
from tenant_apps.audience.models import Client, ImportJob

from .conftest import csv_upload

pytestmark = pytest.mark.django_db


def unique_recipients(home_figures):
    return home_figures()[2]


def test_a_client_added_in_the_form_is_counted(editor, home_figures):
    before = unique_recipients(home_figures)

    editor.post("/clients/new/", {"email": "New.Reader@example.com", "is_subscribed": "on"})

    assert unique_recipients(home_figures) == before + 1


def test_changing_a_clients_email_counts_the_new_one_instead_of_the_old(editor, workspace, home_figures):
    editor.post("/clients/new/", {"email": "old@example.com", "is_subscribed": "on"})
    client = _client(workspace, "old@example.com")
    before = unique_recipients(home_figures)

    editor.post(f"/clients/{client.pk}/edit/", {"email": "OLD@example.com", "is_subscribed": "on"})  # same email
    assert unique_recipients(home_figures) == before

    editor.post(f"/clients/{client.pk}/edit/", {"email": "renamed@example.com", "is_subscribed": "on"})
    assert unique_recipients(home_figures) == before

    editor.post("/clients/new/", {"email": "old@example.com", "is_subscribed": "on"})  # the old one is free again
    assert unique_recipients(home_figures) == before + 1


def test_a_deleted_client_is_no_longer_counted(editor, workspace, home_figures):
    editor.post("/clients/new/", {"email": "leaving@example.com", "is_subscribed": "on"})
    before = unique_recipients(home_figures)

    editor.post(f"/clients/{_client(workspace, 'leaving@example.com').pk}/delete/")

    assert unique_recipients(home_figures) == before - 1


def test_an_email_in_two_workspaces_counts_once_until_both_delete_it(editor, workspace, other_workspace, home_figures):
    before = unique_recipients(home_figures)
    editor.post("/clients/new/", {"email": "shared@example.com", "is_subscribed": "on"})
    with schema_context(other_workspace.schema_name):
        services.save_client(Client(email="Shared@Example.com"))
    assert unique_recipients(home_figures) == before + 1

    editor.post(f"/clients/{_client(workspace, 'shared@example.com').pk}/delete/")
    assert unique_recipients(home_figures) == before + 1, "globex still has it"

    with schema_context(other_workspace.schema_name):
        services.delete_client(Client.objects.get(email="Shared@Example.com"))
    assert unique_recipients(home_figures) == before


def test_an_import_counts_its_new_clients_batch_by_batch(in_workspace, home_figures, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    services.save_client(Client(email="already@example.com"))
    before = unique_recipients(home_figures)
    data = b"email\nalready@example.com\na@example.com\nB@example.com\nbad\nc@example.com\n"

    job = services.run_import(ImportJob.objects.create(file_name="t.csv", data=data))

    assert job.created_count == 3
    assert unique_recipients(home_figures) == before + 3

    services.run_import(ImportJob.objects.create(file_name="again.csv", data=data))
    assert unique_recipients(home_figures) == before + 3, "importing the same file again changes nothing"


def test_an_import_through_the_page_is_counted_when_its_report_shows(
    editor, home_figures, django_capture_on_commit_callbacks
):
    before = unique_recipients(home_figures)

    with django_capture_on_commit_callbacks(execute=True):
        editor.post("/clients/import/", {"file": csv_upload("email\nx1@example.com\nx2@example.com\n")})

    assert unique_recipients(home_figures) == before + 2


def test_unsubscribing_keeps_the_client_counted(editor, workspace, home_figures):
    editor.post("/clients/new/", {"email": "quiet@example.com", "is_subscribed": "on"})
    before = unique_recipients(home_figures)

    editor.post(f"/clients/{_client(workspace, 'quiet@example.com').pk}/subscription/", {"subscribed": "0"})

    assert _client(workspace, "quiet@example.com").is_subscribed is False
    assert unique_recipients(home_figures) == before


def _client(workspace, email):
    with schema_context(workspace.schema_name):
        return Client.objects.get(email__iexact=email)

"""Who may read and change clients, and that no workspace reaches another's clients."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from tenant_apps.audience.models import Client, ImportJob

pytestmark = pytest.mark.django_db


def change_requests(pk):
    """Every request that changes something, for a client with this pk."""
    return [
        ("get", "/clients/new/", {}),
        ("post", "/clients/new/", {"email": "x@example.com"}),
        ("get", f"/clients/{pk}/edit/", {}),
        ("post", f"/clients/{pk}/edit/", {"email": "x@example.com"}),
        ("get", f"/clients/{pk}/delete/", {}),
        ("post", f"/clients/{pk}/delete/", {}),
        ("post", f"/clients/{pk}/subscription/", {"subscribed": "0"}),
        ("post", "/clients/import/", {"file": SimpleUploadedFile("c.csv", b"email\nx@example.com\n")}),
    ]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_read_only_roles_cannot_change_anything(role, workspace, as_role, clients_of):
    http = as_role(role)
    [target] = clients_of(workspace, "keep@example.com", full_name="Keep")

    for method, url, data in change_requests(target.pk):
        response = getattr(http, method)(url, data)
        assert response.status_code == 404, (method, url)

    with schema_context(workspace.schema_name):
        assert list(Client.objects.values_list("email", "full_name", "is_subscribed")) == [
            ("keep@example.com", "Keep", True)
        ]
        assert not ImportJob.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_read_only_roles_may_read_and_export(role, workspace, as_role, clients_of):
    http = as_role(role)
    [target] = clients_of(workspace, "read@example.com")

    listing = http.get("/clients/").content.decode()
    assert "read@example.com" in listing
    assert "/clients/new/" not in listing  # no "add" button for read-only roles
    assert http.get(f"/clients/{target.pk}/").status_code == 200
    assert "read@example.com" in b"".join(http.get("/clients/export/").streaming_content).decode()
    assert http.get("/clients/import/").status_code == 200


def test_owner_may_change_clients(as_role):
    owner = as_role("owner")

    response = owner.post("/clients/new/", {"email": "by-owner@example.com", "is_subscribed": "on"})

    assert response.status_code == 302


def test_anonymous_visitor_is_sent_to_sign_in(workspace_client):
    response = workspace_client.get("/clients/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_member_of_another_workspace_gets_404(workspace_client, other_workspace, member_factory):
    workspace_client.force_login(member_factory(other_workspace, "owner"))

    assert workspace_client.get("/clients/").status_code == 404
    assert workspace_client.get("/clients/export/").status_code == 404


def test_no_url_reaches_a_client_or_import_of_another_workspace(editor, other_workspace, clients_of):
    [foreign] = clients_of(other_workspace, "secret@globex.example", full_name="Secret")
    with schema_context(other_workspace.schema_name):
        job = ImportJob.objects.create(file_name="globex.csv", data=b"email\nsecret2@globex.example\n")
    with schema_context("ws_acme"):
        assert not Client.objects.filter(pk=foreign.pk).exists()  # the pk means nothing here
        assert not ImportJob.objects.filter(pk=job.pk).exists()

    requests = [
        ("get", f"/clients/{foreign.pk}/", {}),
        ("get", f"/clients/import/{job.pk}/", {}),
        ("get", f"/clients/import/{job.pk}/progress/", {}),
        *change_requests(foreign.pk)[2:7],
    ]
    for method, url, data in requests:
        assert getattr(editor, method)(url, data).status_code == 404, (method, url)

    assert "secret@globex.example" not in editor.get("/clients/", {"q": "secret"}).content.decode()
    assert "secret@globex.example" not in b"".join(editor.get("/clients/export/").streaming_content).decode()
    assert "globex.csv" not in editor.get("/clients/import/").content.decode()
    with schema_context(other_workspace.schema_name):
        foreign.refresh_from_db()
        assert (foreign.full_name, foreign.is_subscribed) == ("Secret", True)
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PENDING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def clients_of(db):
    """Create clients in a workspace's schema: clients_of(workspace, "a@x.io", ...)."""
    from saas.factories import make_clients

    def make(workspace, *emails, **fields):
        return make_clients(*emails, workspace=workspace, **fields)

    return make


@pytest.fixture
def as_role(workspace_client, workspace, member_factory, user_factory):
    """The acme test client, signed in with the given role ("manager": a
    member of the Managers group, not of the workspace)."""

    def sign_in(role):
        if role == "manager":
            from saas.factories import make_manager

            user = make_manager()
        else:
            user = member_factory(workspace, role)
        workspace_client.force_login(user)
        return workspace_client

    return sign_in


@pytest.fixture
def editor(as_role):
    return as_role("editor")


def csv_upload(content, name="clients.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")

"""Creating a workspace and listing "my workspaces" on the public site."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_exists

from tenants.access import Role, member_role, set_member_role
from tenants.models import Workspace


@pytest.fixture
def signed_in(public_client, user_factory):
    user = user_factory()
    public_client.force_login(user)
    return user


def test_user_creates_a_workspace_and_is_sent_into_it_as_owner(public_client, signed_in):
    response = public_client.post("/workspaces/new/", {"name": "Initech", "slug": "initech"})

    workspace = Workspace.objects.get(slug="initech")
    assert response.status_code == 302 and response["Location"] == "/open/initech/"
    assert workspace.name == "Initech" and workspace.owner == signed_in
    assert schema_exists("ws_initech")
    assert member_role(signed_in, workspace) is Role.OWNER
    handoff = public_client.get(response["Location"])
    assert handoff["Location"].startswith("http://initech.localhost/handoff/?token=")


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Initech!", "латинских"),
        ("ab", "латинских"),
        ("a" * 41, "40"),
        ("-initech", "латинских"),
        ("admin", "зарезервирован"),
        ("www", "зарезервирован"),
        ("acme", "занят"),
    ],
)
def test_bad_address_is_refused_on_the_form(public_client, signed_in, workspace, slug, message):
    count = Workspace.objects.count()

    response = public_client.post("/workspaces/new/", {"name": "Initech", "slug": slug})

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["slug"])
    assert message in errors
    assert message in response.content.decode()
    assert Workspace.objects.count() == count


def test_empty_name_is_refused(public_client, signed_in):
    response = public_client.post("/workspaces/new/", {"name": "   ", "slug": "initech"})

    assert response.status_code == 400 and response.context["form"].errors["name"]
    assert not Workspace.objects.filter(slug="initech").exists()


def test_user_without_a_verified_email_cannot_create_a_workspace(public_client):
    user = get_user_model().objects.create_user(email="fresh@example.com", password="x-long-password-1")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    public_client.force_login(user)

    response = public_client.post("/workspaces/new/", {"name": "Initech", "slug": "initech"})

    assert response.status_code == 302 and response["Location"] == "/accounts/email/"
    assert not Workspace.objects.filter(slug="initech").exists()


def test_anonymous_visitor_cannot_create_a_workspace(public_client):
    response = public_client.post("/workspaces/new/", {"name": "Initech", "slug": "initech"})

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Workspace.objects.filter(slug="initech").exists()


def test_my_workspaces_lists_owned_and_member_workspaces_with_roles(
    public_client, signed_in, workspace, other_workspace
):
    set_member_role(signed_in, workspace, "owner")
    set_member_role(signed_in, other_workspace, "viewer")

    page = public_client.get("/workspaces/").content.decode()

    assert 'data-testid="workspace-acme"' in page and 'data-testid="workspace-globex"' in page
    assert "владелец" in page and "наблюдатель" in page
    assert 'href="/open/acme/"' in page and 'href="/open/globex/"' in page


def test_my_workspaces_hides_workspaces_of_others(public_client, signed_in, workspace, member_factory):
    member_factory(workspace, "owner")

    response = public_client.get("/workspaces/")

    assert response.context["rows"] == []
    assert "/open/acme/" not in response.content.decode()


def test_manager_sees_the_workspaces_they_oversee(public_client, signed_in, workspace):
    from tenants.access import ensure_managers_group

    signed_in.groups.add(ensure_managers_group())

    page = public_client.get("/workspaces/").content.decode()

    assert 'data-testid="overseen-workspaces"' in page and 'href="/open/acme/"' in page

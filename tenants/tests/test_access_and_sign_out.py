"""Who may enter a workspace host, blocked users, managers, and signing out here or everywhere."""

import pytest
from django.contrib.sessions.models import Session

from conftest import host_client
from tenants.access import ensure_managers_group
from tenants.models import Workspace

PASSWORD = "a-long-unusual-passphrase-42"


def test_managers_group_exists_after_migrate(db):
    from django.contrib.auth.models import Group

    assert Group.objects.filter(name="Managers").exists()


def test_member_of_workspace_a_requesting_workspace_b_gets_404(workspace, other_workspace, member_factory):
    member = member_factory(workspace, "owner")

    assert host_client(workspace.host, member).get("/").status_code == 200
    assert host_client(other_workspace.host, member).get("/").status_code == 404
    assert host_client(other_workspace.host, member).get("/workspace/members/").status_code == 404


def test_anonymous_visitor_of_a_workspace_page_is_sent_to_sign_in(workspace_client):
    response = workspace_client.get("/workspace/members/")

    assert response.status_code == 302
    assert response["Location"].startswith("http://localhost/accounts/login/?next=%2Fopen%2Facme%2F")


def test_blocked_user_cannot_sign_in(public_client, user_factory):
    user_factory(email="blocked@example.com", password=PASSWORD, is_active=False)

    response = public_client.post("/accounts/login/", {"login": "blocked@example.com", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/accounts/inactive/"
    page = public_client.get("/accounts/inactive/")
    assert page.status_code == 200 and "заблокирована" in page.content.decode()
    assert not public_client.get("/workspaces/").wsgi_request.user.is_authenticated


def test_blocking_a_user_ends_their_sessions_on_both_hosts_at_once(workspace, member_factory):
    user = member_factory(workspace, "owner")
    public = host_client("localhost", user)
    acme = host_client(workspace.host, user)
    assert public.get("/workspaces/").status_code == 200 and acme.get("/").status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert public.get("/workspaces/")["Location"].startswith("/accounts/login/")
    assert acme.get("/")["Location"].startswith("http://localhost/accounts/login/")
    assert acme.post("/workspace/settings/", {"name": "Hijacked", "time_zone": "UTC"}).status_code == 302
    workspace.refresh_from_db()
    assert workspace.name == "Acme"


def test_blocked_user_cannot_use_a_hand_off_link(public_client, workspace, member_factory):
    user = member_factory(workspace, "editor")
    public_client.force_login(user)
    link = public_client.get("/open/acme/")["Location"]
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = host_client(workspace.host).get(link.removeprefix("http://acme.localhost"))

    assert response.status_code == 400
    assert not response.wsgi_request.user.is_authenticated


def test_sign_out_page_offers_here_and_everywhere(workspace, member_factory):
    page = host_client(workspace.host, member_factory(workspace, "viewer")).get("/workspace/sign-out/")

    assert page.status_code == 200
    text = page.content.decode()
    assert 'value="here"' in text and 'value="everywhere"' in text


def test_sign_out_here_keeps_the_public_site_session(workspace, member_factory):
    user = member_factory(workspace, "editor")
    public = host_client("localhost", user)
    acme = host_client(workspace.host, user)

    response = acme.post("/workspace/sign-out/", {"scope": "here"})

    assert response.status_code == 302 and response["Location"] == "http://localhost/"
    assert not acme.get("/").wsgi_request.user.is_authenticated
    assert public.get("/workspaces/").wsgi_request.user == user


def test_sign_out_everywhere_ends_every_session_of_the_user(workspace, other_workspace, member_factory, user_factory):
    user = member_factory(workspace, "editor")
    from tenants.access import set_member_role

    set_member_role(user, other_workspace, "viewer")
    public = host_client("localhost", user)
    globex = host_client(other_workspace.host, user)
    acme = host_client(workspace.host, user)
    bystander = host_client("localhost", user_factory())

    acme.post("/workspace/sign-out/", {"scope": "everywhere"})

    assert not acme.get("/").wsgi_request.user.is_authenticated
    assert not public.get("/workspaces/").wsgi_request.user.is_authenticated
    assert not globex.get("/").wsgi_request.user.is_authenticated
    assert bystander.get("/workspaces/").wsgi_request.user.is_authenticated
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]


def test_manager_opening_a_workspace_lands_read_only(public_client, workspace, user_factory):
    manager = user_factory()
    manager.groups.add(ensure_managers_group())
    public_client.force_login(manager)
    link = public_client.get("/open/acme/")["Location"]
    acme = host_client(workspace.host)

    landed = acme.get(link.removeprefix("http://acme.localhost"), follow=True)

    assert landed.status_code == 200 and landed.wsgi_request.user == manager
    assert "менеджер" in landed.content.decode()
    assert acme.get("/workspace/members/").status_code == 404
    assert acme.post("/workspace/settings/", {"name": "Managed", "time_zone": "UTC"}).status_code == 404
    workspace.refresh_from_db()
    assert workspace.name == "Acme"


def test_manager_scoped_to_one_workspace_sees_only_that_one(public_client, workspace, other_workspace, user_factory):
    from guardian.shortcuts import assign_perm

    manager = user_factory()
    assign_perm("oversee_workspace", manager, workspace)

    assert host_client(workspace.host, manager).get("/").status_code == 200
    assert host_client(other_workspace.host, manager).get("/").status_code == 404
    public_client.force_login(manager)
    assert public_client.get("/open/globex/").status_code == 404


def test_superuser_oversees_every_workspace_read_only(workspace, user_factory):
    boss = user_factory(is_superuser=True, is_staff=True)
    acme = host_client(workspace.host, boss)

    assert acme.get("/").status_code == 200
    assert acme.get("/workspace/settings/").status_code == 404


@pytest.mark.parametrize("path", ["/", "/workspace/members/", "/workspace/sign-out/"])
def test_disabled_workspace_is_404_even_for_its_owner(workspace, member_factory, path):
    owner = member_factory(workspace, "owner")
    Workspace.objects.filter(pk=workspace.pk).update(is_active=False)

    assert host_client(workspace.host, owner).get(path).status_code == 404


def test_hand_off_carries_the_public_sites_language_to_the_workspace(public_client, workspace, member_factory):
    public_client.force_login(member_factory(workspace, "viewer"))
    public_client.cookies["django_language"] = "en"
    link = public_client.get("/open/acme/")["Location"]
    acme = host_client(workspace.host)

    response = acme.get(link.removeprefix("http://acme.localhost"))

    assert response.cookies["django_language"].value == "en"
    assert "Dashboard" in acme.get("/").content.decode()

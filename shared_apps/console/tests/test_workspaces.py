"""The console's start page: the workspaces a manager oversees."""

from .helpers import public_url


def listed(response):
    return [workspace.slug for workspace in response.context["page"]]


def test_manager_sees_every_workspace_but_the_public_one(console_client, workspace, member_factory):
    workspace.owner = member_factory(workspace, "owner", email="boss@acme.example")
    workspace.save(update_fields=["owner"])

    response = console_client.get(public_url("console:workspaces"))

    assert response.status_code == 200
    assert {"acme", "globex"} <= set(listed(response))
    assert "public" not in listed(response)
    html = response.content.decode()
    assert "boss@acme.example" in html and "Acme" in html


def test_scoped_manager_sees_only_their_workspaces(public_client, scoped_manager):
    public_client.force_login(scoped_manager)

    response = public_client.get(public_url("console:workspaces"))

    assert listed(response) == ["acme"]


def test_scoped_manager_sees_no_users_tab(public_client, scoped_manager):
    public_client.force_login(scoped_manager)

    html = public_client.get(public_url("console:workspaces")).content.decode()

    assert public_url("console:users") not in html


def test_inactive_workspace_is_listed_as_inactive(console_client, other_workspace):
    other_workspace.is_active = False
    other_workspace.save(update_fields=["is_active"])

    response = console_client.get(public_url("console:workspaces"))

    row = next(w for w in response.context["page"] if w.slug == "globex")
    assert row.is_active is False


def test_each_workspace_has_an_open_button(console_client, workspace):
    html = console_client.get(public_url("console:workspaces")).content.decode()

    assert 'href="/open/acme/"' in html

"""Members and roles on the workspace host: invitations, role changes, removal, settings."""

import re

import pytest
import time_machine
from django.core import mail, signing

from conftest import host_client
from tenants.access import Role, member_role, set_member_role
from tenants.models import Invitation

PASSWORD = "a-long-unusual-passphrase-42"


@pytest.fixture
def owner(workspace, member_factory, workspace_client):
    user = member_factory(workspace, "owner")
    workspace_client.force_login(user)
    return user


@pytest.fixture
def invite(workspace_client, django_capture_on_commit_callbacks):
    def run(email, role="editor"):
        with django_capture_on_commit_callbacks(execute=True):
            return workspace_client.post("/workspace/members/invite/", {"email": email, "role": role})

    return run


def invitation_path(message):
    match = re.search(r"http://localhost(/invitations/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_owner_sees_the_members_page(workspace_client, owner):
    response = workspace_client.get("/workspace/members/")

    assert response.status_code == 200
    assert f'data-testid="member-{owner.email}"' in response.content.decode()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editor_and_viewer_cannot_open_the_members_page(workspace_client, workspace, member_factory, role):
    workspace_client.force_login(member_factory(workspace, role))

    assert workspace_client.get("/workspace/members/").status_code == 404
    assert workspace_client.get("/workspace/settings/").status_code == 404


def test_owner_invites_by_email_and_the_invitee_gets_a_signed_link(workspace, owner, invite):
    response = invite("Colleague@Example.com", "viewer")

    assert response.status_code == 302
    invitation = Invitation.objects.get(email="colleague@example.com")
    assert invitation.email == "colleague@example.com" and invitation.role == "viewer"
    message = mail.outbox[-1]
    assert message.to == ["colleague@example.com"]
    assert "Acme" in message.subject
    assert invitation_path(message).startswith("/invitations/")


def test_inviting_with_an_invalid_email_or_role_is_refused(workspace_client, workspace, owner):
    response = workspace_client.post("/workspace/members/invite/", {"email": "not-an-email", "role": "editor"})
    assert response.status_code == 400 and response.context["invite_form"].errors["email"]

    response = workspace_client.post("/workspace/members/invite/", {"email": "a@example.com", "role": "god"})
    assert response.status_code == 400 and response.context["invite_form"].errors["role"]
    assert not Invitation.objects.filter(email__in=["not-an-email", "a@example.com"]).exists()
    assert mail.outbox == []


def test_inviting_an_existing_member_is_refused(workspace_client, workspace, owner, member_factory):
    member = member_factory(workspace, "viewer")

    response = workspace_client.post("/workspace/members/invite/", {"email": member.email, "role": "editor"})

    assert response.status_code == 400
    assert not Invitation.objects.filter(email=member.email).exists()


def test_new_person_signs_up_from_the_invitation_and_joins(
    workspace, owner, invite, django_capture_on_commit_callbacks
):
    invite("newcomer@example.com", "editor")
    path = invitation_path(mail.outbox[-1])
    browser = host_client("localhost")

    landing = browser.get(path)
    assert landing.status_code == 200 and "Acme" in landing.content.decode()
    signup_url = landing.context["signup_url"]
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(signup_url, {"email": "newcomer@example.com", "password1": PASSWORD, "password2": PASSWORD})
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE).group(1)
    confirmed = browser.post("/accounts/confirm-email/", {"code": code})
    assert confirmed["Location"] == path

    accepted = browser.post(path)

    assert accepted.status_code == 302 and accepted["Location"] == "/open/acme/"
    newcomer = accepted.wsgi_request.user
    assert newcomer.email == "newcomer@example.com"
    assert member_role(newcomer, workspace) is Role.EDITOR
    assert Invitation.objects.get(email="newcomer@example.com").accepted_by == newcomer


def test_used_invitation_link_gets_a_clear_page(workspace, owner, invite, user_factory):
    invite("member@example.com", "viewer")
    path = invitation_path(mail.outbox[-1])
    invitee = user_factory(email="member@example.com")
    browser = host_client("localhost", invitee)
    browser.post(path)

    response = browser.post(path)

    assert response.status_code == 400
    assert response.context["reason"] == "used"
    assert "уже принято" in response.content.decode()


def test_forged_invitation_link_gets_a_clear_page(public_client, workspace):
    forged = signing.dumps({"id": "00000000-0000-0000-0000-000000000000"}, salt="another-salt")

    response = public_client.get(f"/invitations/{forged}/")

    assert response.status_code == 400 and response.context["reason"] == "forged"


def test_expired_invitation_link_gets_a_clear_page(workspace_client, workspace, owner, invite, user_factory):
    with time_machine.travel("2030-01-01 12:00:00", tick=False):
        workspace_client.force_login(owner)  # a session from today would have expired by 2030
        invite("late@example.com", "viewer")
    path = invitation_path(mail.outbox[-1])
    invitee = user_factory(email="late@example.com")

    with time_machine.travel("2030-01-09 12:00:00", tick=False):
        response = host_client("localhost", invitee).post(path)

    assert response.status_code == 400 and response.context["reason"] == "expired"
    assert member_role(invitee, workspace) is None


def test_withdrawn_invitation_link_gets_a_clear_page(workspace_client, workspace, owner, invite, user_factory):
    invite("maybe@example.com", "viewer")
    path = invitation_path(mail.outbox[-1])
    workspace_client.post(f"/workspace/invitations/{Invitation.objects.get(email='maybe@example.com').pk}/revoke/")
    invitee = user_factory(email="maybe@example.com")

    response = host_client("localhost", invitee).post(path)

    assert response.status_code == 400 and response.context["reason"] == "revoked"
    assert member_role(invitee, workspace) is None


def test_invitation_cannot_be_accepted_by_another_account(workspace, owner, invite, user_factory):
    invite("intended@example.com", "owner")
    path = invitation_path(mail.outbox[-1])
    intruder = user_factory(email="intruder@example.com")

    response = host_client("localhost", intruder).post(path)

    assert response.status_code == 400 and response.context["reason"] == "other_email"
    assert member_role(intruder, workspace) is None
    assert Invitation.objects.get(email="intended@example.com").accepted_at is None


def test_another_account_is_offered_to_sign_out_and_come_back_to_the_invitation(workspace, owner, invite, user_factory):
    invite("intended@example.com", "viewer")
    path = invitation_path(mail.outbox[-1])
    client = host_client("localhost", user_factory(email="someone-else@example.com"))

    page = client.get(path).content.decode()

    assert 'action="/accounts/logout/"' in page
    assert f'name="next" value="{path}"' in page
    assert "Выйти и продолжить как intended@example.com" in page
    client.post("/accounts/logout/", {"next": path})
    assert "Войти" in client.get(path).content.decode()  # the invitation page for a visitor


def test_owner_changes_a_members_role(workspace_client, workspace, owner, member_factory):
    member = member_factory(workspace, "viewer")

    response = workspace_client.post(f"/workspace/members/{member.pk}/role/", {"role": "editor"})

    assert response.status_code == 302
    assert member_role(member, workspace) is Role.EDITOR


def test_owner_removes_a_member(workspace_client, workspace, owner, member_factory):
    member = member_factory(workspace, "editor")

    workspace_client.post(f"/workspace/members/{member.pk}/remove/")

    assert member_role(member, workspace) is None
    assert host_client(workspace.host, member).get("/").status_code == 404


def test_the_last_owner_cannot_step_down_or_be_removed(user_factory):
    from tenants.services import create_workspace

    owner = user_factory()
    solo = create_workspace(name="Solo", slug="solo", owner=owner)
    client = host_client(solo.host, owner)

    response = client.post(f"/workspace/members/{owner.pk}/role/", {"role": "viewer"}, follow=True)
    assert "хотя бы один владелец" in response.content.decode()
    client.post(f"/workspace/members/{owner.pk}/remove/")

    assert member_role(owner, solo) is Role.OWNER


def test_an_owner_can_step_down_when_another_owner_remains(workspace_client, workspace, owner, member_factory):
    member_factory(workspace, "owner")

    workspace_client.post(f"/workspace/members/{owner.pk}/role/", {"role": "editor"})

    assert member_role(owner, workspace) is Role.EDITOR


def test_owner_cannot_touch_people_outside_the_workspace(workspace_client, other_workspace, owner, member_factory):
    stranger = member_factory(other_workspace, "owner")

    workspace_client.post(f"/workspace/members/{stranger.pk}/role/", {"role": "viewer"})
    workspace_client.post(f"/workspace/members/{stranger.pk}/remove/")

    assert member_role(stranger, other_workspace) is Role.OWNER


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_non_owner_cannot_change_roles_invite_or_remove(workspace, member_factory, role):
    target = member_factory(workspace, "viewer")
    actor = member_factory(workspace, role)
    client = host_client(workspace.host, actor)

    assert client.post(f"/workspace/members/{target.pk}/role/", {"role": "owner"}).status_code == 404
    assert client.post(f"/workspace/members/{target.pk}/remove/").status_code == 404
    assert client.post("/workspace/members/invite/", {"email": "x@example.com", "role": "owner"}).status_code == 404
    assert member_role(target, workspace) is Role.VIEWER
    assert not Invitation.objects.filter(email="x@example.com").exists()


def test_owner_changes_workspace_settings(workspace_client, workspace, owner):
    response = workspace_client.post("/workspace/settings/", {"name": "Acme Corp", "time_zone": "Asia/Tokyo"})

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.time_zone) == ("Acme Corp", "Asia/Tokyo")


def test_bad_settings_are_refused(workspace_client, workspace, owner):
    response = workspace_client.post("/workspace/settings/", {"name": "", "time_zone": "Nowhere/Land"})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "time_zone"}
    workspace.refresh_from_db()
    assert workspace.name == "Acme"


def test_viewer_cannot_change_settings(workspace, member_factory):
    client = host_client(workspace.host, member_factory(workspace, "viewer"))

    response = client.post("/workspace/settings/", {"name": "Hacked", "time_zone": "UTC"})

    assert response.status_code == 404
    workspace.refresh_from_db()
    assert workspace.name == "Acme"


def test_accepting_keeps_a_higher_role(workspace, user_factory):
    from tenants.invitations import accept_invitation, invitation_token
    from tenants.invitations import invite as make_invitation

    person = user_factory(email="boss@example.com")
    set_member_role(person, workspace, "owner")
    invitation = make_invitation(workspace=workspace, email=person.email, role="viewer", invited_by=None)

    accept_invitation(invitation_token(invitation), person)

    assert member_role(person, workspace) is Role.OWNER


# --- a member a manager blocked (inactive user): still a member, shown as blocked ---


@pytest.fixture
def blocked_member(workspace, member_factory):
    from shared_apps.console.services import block_user

    def make(role="editor"):
        member = member_factory(workspace, role)
        block_user(member)
        member.refresh_from_db()
        return member

    return make


def test_a_blocked_member_shows_on_the_members_page_marked_blocked_with_their_role(
    workspace_client, owner, blocked_member
):
    member = blocked_member("editor")

    response = workspace_client.get("/workspace/members/")

    assert response.status_code == 200
    assert (member, Role.EDITOR) in response.context["members"]
    row = re.search(rf'data-testid="member-{re.escape(member.email)}".*?</tr>', response.content.decode(), re.S)
    assert row and "заблокирован" in row.group(0)
    assert '<option value="editor" selected>' in row.group(0)


def test_a_blocked_member_keeps_their_role_but_cannot_enter(workspace, blocked_member):
    member = blocked_member("viewer")

    response = host_client(workspace.host, member).get("/")

    assert member_role(member, workspace) is Role.VIEWER
    assert response.status_code == 302 and not response.wsgi_request.user.is_authenticated


def test_owner_changes_a_blocked_members_role(workspace_client, workspace, owner, blocked_member):
    member = blocked_member("viewer")

    response = workspace_client.post(f"/workspace/members/{member.pk}/role/", {"role": "editor"})

    assert response.status_code == 302
    assert member_role(member, workspace) is Role.EDITOR


def test_owner_removes_a_blocked_member(workspace_client, workspace, owner, blocked_member):
    member = blocked_member("editor")

    response = workspace_client.post(f"/workspace/members/{member.pk}/remove/", follow=True)

    assert response.status_code == 200
    assert member_role(member, workspace) is None
    assert member not in [user for user, _role in response.context["members"]]


def test_inviting_a_blocked_members_email_is_refused_as_an_existing_member(workspace_client, owner, blocked_member):
    member = blocked_member("viewer")

    response = workspace_client.post("/workspace/members/invite/", {"email": member.email, "role": "editor"})

    assert response.status_code == 400 and response.context["invite_form"].errors["email"]
    assert not Invitation.objects.filter(email=member.email).exists()


def test_a_blocked_owner_can_be_removed_by_the_other_owner(workspace_client, workspace, owner, blocked_member):
    other_owner = blocked_member("owner")

    workspace_client.post(f"/workspace/members/{other_owner.pk}/remove/")

    assert member_role(other_owner, workspace) is None


def test_the_last_owner_who_can_sign_in_cannot_step_down_or_leave_beside_a_blocked_owner(
    workspace_client, workspace, owner, blocked_member
):
    blocked_member("owner")

    response = workspace_client.post(f"/workspace/members/{owner.pk}/role/", {"role": "viewer"}, follow=True)
    assert "хотя бы один владелец" in response.content.decode()
    workspace_client.post(f"/workspace/members/{owner.pk}/remove/")

    assert member_role(owner, workspace) is Role.OWNER

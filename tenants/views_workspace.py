"""Workspace-host pages of the workspace itself: members, settings, signing out."""

from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.accounts.services import end_all_sessions

from .access import require_role, workspace_members
from .forms import InviteForm, MemberRoleForm, WorkspaceSettingsForm
from .invitations import invite, pending_invitations, revoke_invitation
from .middleware import public_url
from .services import (
    LastOwnerError,
    NotAMemberError,
    change_member_role,
    remove_workspace_member,
    update_workspace_settings,
)


def members(request):
    """Workspace host, owners only: members, their roles, invitations."""
    require_role(request, manage_members=True)
    return render_members(request, InviteForm(workspace=request.tenant))


def render_members(request, invite_form, status=200):
    context = {
        "members": workspace_members(request.tenant),
        "invitations": pending_invitations(request.tenant),
        "invite_form": invite_form,
        "role_form": MemberRoleForm(),
    }
    return render(request, "tenant/members/members.html", context, status=status)


@require_POST
def invite_member(request):
    """Workspace host, owners only: invite an email address with a role."""
    require_role(request, manage_members=True)
    form = InviteForm(request.POST, workspace=request.tenant)
    if not form.is_valid():
        return render_members(request, form, status=400)
    invitation = invite(
        workspace=request.tenant,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        invited_by=request.user,
    )
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("workspace:members")


@require_POST
def change_role(request, user_id):
    """Workspace host, owners only: give a member another role (the last owner stays owner)."""
    require_role(request, manage_members=True)
    member = get_object_or_404(get_user_model(), pk=user_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("workspace:members")
    try:
        change_member_role(request.tenant, member, form.cleaned_data["role"])
    except LastOwnerError:
        messages.error(request, _("A workspace needs at least one owner: make someone else an owner first."))
    except NotAMemberError:
        messages.error(request, _("%(email)s is not a member.") % {"email": member.email})
    else:
        messages.success(request, _("%(email)s's role changed.") % {"email": member.email})
    return redirect("workspace:members")


@require_POST
def remove(request, user_id):
    """Workspace host, owners only: take a member out (never the last owner)."""
    require_role(request, manage_members=True)
    member = get_object_or_404(get_user_model(), pk=user_id)
    try:
        remove_workspace_member(request.tenant, member)
    except LastOwnerError:
        messages.error(request, _("A workspace needs at least one owner: make someone else an owner first."))
    except NotAMemberError:
        messages.error(request, _("%(email)s is not a member.") % {"email": member.email})
    else:
        messages.success(request, _("%(email)s was removed from the workspace.") % {"email": member.email})
    return redirect("workspace:members")


@require_POST
def revoke(request, invitation_id):
    """Workspace host, owners only: withdraw a pending invitation."""
    require_role(request, manage_members=True)
    if revoke_invitation(request.tenant, invitation_id):
        messages.success(request, _("Invitation withdrawn."))
    return redirect("workspace:members")


def workspace_settings(request):
    """Workspace host, owners only: the workspace's name and time zone."""
    require_role(request, manage_members=True)
    workspace = request.tenant
    form = WorkspaceSettingsForm(
        request.POST or None, initial={"name": workspace.name, "time_zone": workspace.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        update_workspace_settings(workspace, **form.cleaned_data)
        messages.success(request, _("Settings saved."))
        return redirect("workspace:settings")
    return render(request, "tenant/members/settings.html", {"form": form}, status=400 if form.errors else 200)


def sign_out(request):
    """Workspace host, any member or manager: sign out here, or everywhere (every host, every browser)."""
    require_role(request)
    if request.method != "POST":
        return render(request, "tenant/members/sign_out.html")
    user = request.user
    everywhere = request.POST.get("scope") == "everywhere"
    logout(request)
    if everywhere:
        end_all_sessions(user)
    return redirect(public_url(request, "/"))

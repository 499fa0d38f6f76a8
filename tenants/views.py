from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from shared_apps.accounts.services import has_verified_email, remember_language

from .access import workspace_role, workspaces_of, workspaces_overseen_by
from .forms import WorkspaceCreateForm
from .handoff import HandoffError, issue_handoff_url, redeem_handoff, signed_in_backend
from .invitations import InvitationError, accept_invitation, read_invitation, user_may_accept
from .models import Workspace
from .services import create_workspace


@login_required
def open_workspace(request, slug):
    """Public site, signed-in members and managers: go to a workspace signed in."""
    workspace = get_object_or_404(Workspace, slug=slug, is_active=True)
    if workspace.is_public or workspace_role(request.user, workspace) is None:
        raise Http404
    next_path = request.GET.get("next", "/")
    return redirect(issue_handoff_url(request.user, workspace, next_path, language=request.LANGUAGE_CODE))


def redeem(request):
    """Workspace host, anyone holding a valid token: start a session here."""
    try:
        user = redeem_handoff(request.GET.get("token", ""), request.tenant)
    except HandoffError as error:
        return render(request, "tenant/handoff_failed.html", {"reason": str(error)}, status=400)
    login(request, user, backend=signed_in_backend())
    next_path = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_path, allowed_hosts={request.get_host()}):
        next_path = "/"
    # Cookies do not cross hosts: carry the public site's interface language over too.
    language = request.GET.get("lang")
    if language not in dict(settings.LANGUAGES):
        language = user.language
    return remember_language(redirect(next_path), language)


@login_required
def my_workspaces(request):
    """Public site, the signed-in user: the workspaces they belong to, with their role."""
    rows = [(workspace, workspace_role(request.user, workspace)) for workspace in workspaces_of(request.user)]
    member_of = {workspace.pk for workspace, _role in rows}
    overseen = [workspace for workspace in workspaces_overseen_by(request.user) if workspace.pk not in member_of]
    return render(request, "public/accounts/workspaces.html", {"rows": rows, "overseen": overseen})


@login_required
def new_workspace(request):
    """Public site, signed-in users with a verified email: create a workspace they own."""
    if not has_verified_email(request.user):
        messages.error(request, _("Verify your email address before creating a workspace."))
        return redirect("account_email")
    form = WorkspaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = create_workspace(
                name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], owner=request.user
            )
        except ValidationError as error:  # taken a moment ago by someone else
            form.add_error("slug", error)
        except IntegrityError:
            form.add_error("slug", ValidationError(_("This address is already taken."), code="taken"))
        else:
            messages.success(request, _("Workspace “%(name)s” is ready.") % {"name": workspace.name})
            return redirect("open_workspace", slug=workspace.slug)
    return render(request, "public/accounts/workspace_new.html", {"form": form}, status=400 if form.errors else 200)


def invitation(request, token):
    """Public site, anyone with the link: see the invitation; the invited person (signed in) accepts it."""
    try:
        invitation = read_invitation(token)
    except InvitationError as error:
        return invitation_failed(request, error)
    if not request.user.is_authenticated:
        return render(request, "public/accounts/invitation.html", {"invitation": invitation, **sign_in_links(request)})
    if not user_may_accept(request.user, invitation):
        return invitation_failed(request, InvitationError("other_email", invitation))
    if request.method == "POST":
        try:
            workspace = accept_invitation(token, request.user)
        except InvitationError as error:
            return invitation_failed(request, error)
        messages.success(request, _("You have joined “%(name)s”.") % {"name": workspace.name})
        return redirect("open_workspace", slug=workspace.slug)
    return render(request, "public/accounts/invitation.html", {"invitation": invitation})


def sign_in_links(request):
    back = urlencode({"next": request.get_full_path()})
    return {
        "login_url": reverse("account_login") + "?" + back,
        "signup_url": reverse("account_signup") + "?" + back,
    }


def invitation_failed(request, error):
    context = {"reason": error.reason, "invitation": error.invitation}
    return render(request, "public/accounts/invitation_failed.html", context, status=400)

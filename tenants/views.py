from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from .access import workspace_role
from .handoff import HandoffError, issue_handoff_url, redeem_handoff, signed_in_backend
from .models import Workspace


@login_required
def open_workspace(request, slug):
    """Public site, signed-in members and managers: go to a workspace signed in."""
    workspace = get_object_or_404(Workspace, slug=slug, is_active=True)
    if workspace.is_public or workspace_role(request.user, workspace) is None:
        raise Http404
    return redirect(issue_handoff_url(request, request.user, workspace, request.GET.get("next", "/")))


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
    return redirect(next_path)

"""The managers' console page "Paused for reputation": which workspaces the guard stopped, and release.

Managers and scoped managers (their workspaces only), as every console page;
anonymous visitors are sent to sign in, other users get 404.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from shared_apps.console.access import console_view, visible_workspace_or_404, visible_workspaces
from tenants.access import is_manager

from . import services


@console_view()
@require_GET
def paused(request):
    """Managers and scoped managers: the workspaces paused for reputation, with the run's figures."""
    rows = services.paused_workspaces(visible_workspaces(request.user))
    dropped = services.dropped_counts() if is_manager(request.user) else {}
    return render(request, "public/console/reputation.html", {"rows": rows, "dropped": dropped})


@console_view()
@require_POST
def release(request, slug):
    """Managers and scoped managers (their workspaces only): let a paused workspace send again."""
    workspace = visible_workspace_or_404(request.user, slug)
    if services.release_pause(workspace, request.user):
        messages.success(request, _("%(workspace)s may send again.") % {"workspace": workspace.name})
    else:
        messages.info(request, _("%(workspace)s was not paused.") % {"workspace": workspace.name})
    return redirect("reputation:paused")

from django.shortcuts import render

from tenants.access import require_role

from . import services


def dashboard(request):
    """Workspace home. Members and managers (WorkspaceAccessMiddleware)."""
    require_role(request)
    return render(request, "tenant/dashboard.html", {"counts": services.dashboard_counts()})

"""Views shared by the public site and the workspaces: errors."""

from django.shortcuts import render

from tenant_apps.api.problems import problem_response

API_PATH = "/api/v1/"


def unknown_workspace(request):
    """No workspace lives at this host (or it is disabled). Anyone may see this."""
    return render(request, "404.html", status=404)


def page_not_found(request, exception=None):
    """Anyone: the 404 page on either kind of host (problem details under the REST API)."""
    if request.path.startswith(API_PATH):
        return problem_response(404, "Not found.")
    return render(request, "404.html", status=404)


def server_error(request):
    """Anyone: the 500 page (renders base.html's context-free twin, 500.html; problem details under the API)."""
    if request.path.startswith(API_PATH):
        return problem_response(500, "Internal error; it was logged.")
    return render(request, "500.html", status=500)

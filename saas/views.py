"""Views shared by the public site and the workspaces: errors."""

from django.shortcuts import render


def unknown_workspace(request):
    """No workspace lives at this host (or it is disabled). Anyone may see this."""
    return render(request, "404.html", status=404)


def page_not_found(request, exception=None):
    """Anyone: the 404 page on either kind of host."""
    return render(request, "404.html", status=404)


def server_error(request):
    """Anyone: the 500 page (renders base.html's context-free twin, 500.html)."""
    return render(request, "500.html", status=500)

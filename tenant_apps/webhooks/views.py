"""Outgoing webhook pages: endpoints, their delivery log, the test event.

Owners create, change, test and delete endpoints; other members and managers
see them and their logs read-only. The signing secret is shown once, on the
page right after creation, and never again.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants.access import require_role

from . import services
from .forms import EndpointForm
from .models import Endpoint

LOG_PAGE_SIZE = 50
NEW_SECRET_SESSION_KEY = "webhooks:new-secret"  # noqa: S105 - a session key's name


def index(request):
    """The workspace's endpoints. Any member, managers."""
    role = require_role(request)
    context = {"endpoints": Endpoint.objects.all(), "can_manage": role.can_manage_members}
    return render(request, "tenant/webhooks/index.html", context)


def add(request):
    """Register an endpoint; the next page shows its secret once. Owners."""
    require_role(request, manage_members=True)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint, secret = services.create_endpoint(**form.cleaned_data)
        # Handed to the next page through the session, then forgotten: never in a URL or a log.
        request.session[NEW_SECRET_SESSION_KEY] = [endpoint.pk, secret]
        return redirect("webhooks:detail", endpoint.pk)
    return render(request, "tenant/webhooks/form.html", {"form": form}, status=400 if form.errors else 200)


def detail(request, pk):
    """An endpoint, its delivery log (paginated) and, right after creation, its secret. Any member, managers."""
    role = require_role(request)
    endpoint = get_object_or_404(Endpoint, pk=pk)
    new_secret = None
    pending = request.session.get(NEW_SECRET_SESSION_KEY)
    if pending and pending[0] == endpoint.pk and role.can_manage_members:
        new_secret = pending[1]
        del request.session[NEW_SECRET_SESSION_KEY]
    page = Paginator(services.delivery_log(endpoint), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "page": page, "new_secret": new_secret, "can_manage": role.can_manage_members}
    return render(request, "tenant/webhooks/detail.html", context)


def edit(request, pk):
    """Change an endpoint's address, events and description. Owners."""
    require_role(request, manage_members=True)
    endpoint = get_object_or_404(Endpoint, pk=pk)
    initial = {"url": endpoint.url, "event_types": endpoint.event_types, "description": endpoint.description}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.update_endpoint(endpoint, **form.cleaned_data)
        messages.success(request, _("Endpoint saved."))
        return redirect("webhooks:detail", endpoint.pk)
    context = {"form": form, "endpoint": endpoint}
    return render(request, "tenant/webhooks/form.html", context, status=400 if form.errors else 200)


@require_POST
def test(request, pk):
    """Queue a test event to this endpoint. Owners."""
    require_role(request, manage_members=True)
    endpoint = get_object_or_404(Endpoint, pk=pk, is_enabled=True)
    services.send_test_event(endpoint)
    messages.success(request, _("Test event queued: its delivery appears in the log below."))
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
def enable(request, pk):
    """Enable an endpoint that was disabled after failing. Owners."""
    require_role(request, manage_members=True)
    endpoint = get_object_or_404(Endpoint, pk=pk)
    services.enable_endpoint(endpoint)
    messages.success(request, _("Endpoint enabled."))
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
def delete(request, pk):
    """Remove an endpoint with its undelivered events and its log. Owners."""
    require_role(request, manage_members=True)
    services.delete_endpoint(get_object_or_404(Endpoint, pk=pk))
    messages.success(request, _("Endpoint removed."))
    return redirect("webhooks:index")

"""Tracking settings (owners) and a client's tracking history (members and managers, read only)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from tenant_apps.audience.models import Client
from tenants.access import require_role

from . import reports, services
from .forms import TrackingSettingsForm


def tracking_settings_page(request):
    """Owners only: switch open and click tracking on or off for the workspace."""
    require_role(request, manage_members=True)
    current = services.tracking_settings()
    form = TrackingSettingsForm(
        request.POST or None, initial={"track_opens": current.track_opens, "track_clicks": current.track_clicks}
    )
    if request.method == "POST" and form.is_valid():
        services.save_tracking_settings(**form.cleaned_data)
        messages.success(request, _("Tracking settings saved."))
        return redirect("engagement:settings")
    return render(request, "tenant/engagement/settings.html", {"form": form}, status=400 if form.errors else 200)


@require_safe
def client_history(request, pk):
    """Members and managers: every open and click of one client, newest first."""
    require_role(request)
    client = get_object_or_404(Client, pk=pk)
    return render(
        request,
        "tenant/engagement/client_history.html",
        {"client": client, "hits": reports.client_hits(client.pk, limit=500)},
    )

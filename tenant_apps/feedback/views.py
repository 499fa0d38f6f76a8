"""The suppression list and the feedback settings of the current workspace.

Behind WorkspaceAccessMiddleware (members and managers of this workspace;
others get 404). Every role reads the list; lifting a suppression and the
settings are for owners only.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from shared_apps.deliverability.services import feedback_of
from tenants.access import require_role

from . import services
from .forms import FeedbackSettingsForm, LiftForm, ProviderKeysForm, SuppressionSearchForm
from .models import FeedbackSettings, Suppression, SuppressionLift

PAGE_SIZE = 50


def suppression_list(request):
    """Every role: suppressed addresses with reason, source event and date; search by email."""
    role = require_role(request)
    form = SuppressionSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(services.suppressions(query), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query,
        "can_lift": role.can_manage_members,
        "lifts": SuppressionLift.objects.all()[:20],
    }
    return render(request, "tenant/feedback/suppressions.html", context)


def suppression_lift(request, pk):
    """Owners only: lift one suppression after confirming (GET shows the confirmation)."""
    require_role(request, manage_members=True)
    suppression = get_object_or_404(Suppression.objects.select_related("event"), pk=pk)
    form = LiftForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.lift_suppression(suppression, request.user.email)
        messages.success(request, _("The suppression of %(email)s was lifted.") % {"email": suppression.email})
        return redirect("feedback:suppressions")
    return render(request, "tenant/feedback/lift.html", {"suppression": suppression, "form": form})


def feedback_settings(request):
    """Owners only: what bounces and complaints do, and the providers' webhook URLs and keys."""
    require_role(request, manage_members=True)
    rules = FeedbackSettings.current()
    hooks = feedback_of(request.tenant)
    rules_form = FeedbackSettingsForm(request.POST if "rules" in request.POST else None, instance=rules)
    keys_form = ProviderKeysForm(request.POST if "keys" in request.POST else None, instance=hooks)
    for form in (rules_form, keys_form):
        if form.is_bound and form.is_valid():
            form.save()
            messages.success(request, _("Settings saved."))
            return redirect("feedback:settings")
    scheme = "https" if request.is_secure() else "http"
    port = request.get_port()
    base = f"{scheme}://{settings.BASE_DOMAIN}{'' if port in ('80', '443') else ':' + port}"
    urls = {p: f"{base}/hooks/{p}/{hooks.hook_token}/" for p in ("ses", "sendgrid", "mailgun", "postmark")}
    context = {"rules_form": rules_form, "keys_form": keys_form, "hook_urls": urls, "paused": hooks.paused_at}
    return render(request, "tenant/feedback/settings.html", context)

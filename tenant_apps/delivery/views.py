"""Delivery reports and the recipients' unsubscribe page.

The report views only read: nothing here sends mail or changes a mailing.
"""

import zoneinfo

from django.core.paginator import Paginator
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_safe

from tenant_apps.campaigns.models import Mailing
from tenant_apps.engagement import reports as engagement_reports
from tenants.access import require_role

from . import reports
from .forms import AttemptFilterForm, ChartForm
from .unsubscribe import UnsubscribeLinkError, client_for_token, resubscribe_client, unsubscribe_client

RUNS_PER_PAGE = 20
MAILINGS_PER_PAGE = 25


def workspace_timezone(request):
    """Reports count days and hours in the workspace's time zone."""
    try:
        return zoneinfo.ZoneInfo(request.tenant.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def chart_context(request, mailing=None):
    form = ChartForm(request.GET)
    period = form.chosen_period(default=reports.default_period(mailing))
    tz = workspace_timezone(request)
    series = reports.chart_series(period, mailing=mailing, tz=tz)
    return {
        "chart_form": form,
        "chart_period": period,
        "series": series,
        "bucket": reports.CHART_PERIODS[period][1],
        "report_tz": tz,
    }


def log_query(request):
    """The query string that keeps the log's filters (and the chart's period) across its pages."""
    return urlencode({name: request.GET[name] for name in ("status", "run", "period") if request.GET.get(name)})


@require_safe
def reports_index(request):
    """The workspace report: totals, the chart, every mailing with its report link.

    Members (owner, editor, viewer) and managers; read-only.
    """
    role = require_role(request)
    mailings = Paginator(Mailing.objects.user_made().order_by("-start_at", "-id"), MAILINGS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    counts = reports.mailing_counts(mailing.pk for mailing in mailings)
    context = {
        "totals": reports.workspace_totals(),
        "unsubscribed": reports.unsubscribe_totals(),
        "recent_days": reports.RECENT_DAYS,
        "mailings": mailings,
        "rows": [(mailing, counts.get(mailing.pk)) for mailing in mailings],
        "can_edit": role.can_edit,
        **chart_context(request),
    }
    with timezone.override(context["report_tz"]):
        return render(request, "tenant/reports/index.html", context)


@require_safe
def mailing_report(request, pk):
    """One mailing's report: its runs with counts, the chart, the attempt log (filterable).

    Members (owner, editor, viewer) and managers; read-only.
    """
    require_role(request)
    mailing = get_object_or_404(Mailing.objects.user_made(), pk=pk)
    # Paginate plain runs (a cheap COUNT), then count deliveries for this page's runs only.
    runs = Paginator(mailing.runs.order_by("-scheduled_for", "-id"), RUNS_PER_PAGE).get_page(
        request.GET.get("runs_page")
    )
    runs.object_list = list(reports.run_counts(mailing).filter(pk__in=[run.pk for run in runs.object_list]))
    log_form = AttemptFilterForm(request.GET, mailing=mailing)
    log = None
    if log_form.is_valid():
        data = log_form.cleaned_data
        attempts = reports.attempt_log(mailing, status=data["status"], run=data["run"])
        log = reports.log_page(attempts, before=data["before"], after=data["after"])
    context = {
        "mailing": mailing,
        "runs": runs,
        "log_form": log_form,
        "log": log,
        "log_query": log_query(request),
        **chart_context(request, mailing),
    }
    context.update(
        engagement_reports.mailing_context(mailing.pk, context["chart_form"].chosen_period(), context["report_tz"])
    )
    with timezone.override(context["report_tz"]):
        return render(request, "tenant/reports/mailing.html", context)


# --- unsubscribe -------------------------------------------------------------


# RFC 8058: mail providers POST the one-click request with no session and no
# CSRF token; the signed token in the URL is the credential. Re-subscribing is
# not one-click, so that action keeps its CSRF check (resubscribe below).
@csrf_exempt
def unsubscribe(request, token):
    """Workspace host, anyone holding the signed link from an email (no sign-in).

    GET: a confirmation page, changes nothing. POST: unsubscribe (one-click or
    the page's button); POST action=resubscribe: undo, with a CSRF token.
    """
    try:
        client = client_for_token(token, request.tenant.schema_name)
    except UnsubscribeLinkError as error:
        reason = str(error)
        status = 400 if reason == "forged" else 404
        return render(request, "tenant/unsubscribe/invalid.html", {"reason": reason}, status=status)
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            return resubscribe(request, client)
        unsubscribe_client(client)
        return render(request, "tenant/unsubscribe/page.html", {"client": client, "just_changed": True})
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "tenant/unsubscribe/page.html", {"client": client})


@csrf_protect
def resubscribe(request, client):
    """Called by unsubscribe() for its POST action=resubscribe (same audience)."""
    resubscribe_client(client)
    return render(request, "tenant/unsubscribe/page.html", {"client": client, "just_changed": True})

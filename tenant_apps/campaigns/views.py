"""Messages, mailings and the workspace dashboard.

Every view runs on a workspace host, where WorkspaceAccessMiddleware already
turned away non-members (404). Reading: any member (owner, editor, viewer) and
managers. Changing: owner and editor only (`require_role(edit=True)`, 404 for
the others). Objects are looked up in the current workspace's schema, so an id
from another workspace is simply not found (404).
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tenant_apps.audience.fields import field_keys
from tenant_apps.delivery.reports import latest_run, mailing_counts
from tenant_apps.engagement import reports as engagement_reports
from tenants.access import require_role

from . import services
from .forms import MailingForm, MessageForm, known_placeholders_text
from .models import Mailing, Message

PAGE_SIZE = 25


def page_of(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def dashboard_chart(counts):
    """Labels and values for the dashboard's charts (labels in the page's language)."""
    by_status = counts["mailings_by_status"]
    return {
        "statuses": {
            "labels": [str(label) for _value, label in Mailing.Status.choices],
            "values": [by_status[value] for value in Mailing.Status.values],
        },
        "deliveries": {
            "labels": [_("Sent"), _("Failed"), _("Bounced"), _("Complaints")],
            "values": [counts["sent"], counts["failed"], counts["bounced"], counts["complained"]],
        },
    }


def quota_usage(workspace):
    from tenant_apps.senders.quotas import client_usage, message_usage

    return {"message_usage": message_usage(workspace), "client_usage": client_usage(workspace)}


def dashboard(request):
    """Workspace home with its headline numbers. Any member, managers."""
    role = require_role(request)
    counts = services.dashboard_counts()
    context = {"counts": counts, "chart": dashboard_chart(counts), "can_edit": role.can_edit}
    context["engagement"] = engagement_reports.recent_figures()
    context.update(quota_usage(request.tenant))
    return render(request, "tenant/dashboard.html", context)


# --- messages ----------------------------------------------------------------


def message_list(request):
    """All messages of the workspace. Any member, managers."""
    role = require_role(request)
    page = page_of(request, services.messages_with_usage())
    return render(request, "tenant/campaigns/message_list.html", {"page": page, "can_edit": role.can_edit})


def message_form_page(request, form, message=None):
    context = {"form": form, "message_obj": message, "placeholders": known_placeholders_text(field_keys())}
    return render(request, "tenant/campaigns/message_form.html", context)


def message_create(request):
    """New message. Owner, editor."""
    require_role(request, edit=True)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        message = form.save()
        messages.success(request, _("Message saved."))
        return redirect("campaigns:message_detail", pk=message.pk)
    return message_form_page(request, form)


def message_edit(request, pk):
    """Change a message. Owner, editor."""
    require_role(request, edit=True)
    message = get_object_or_404(Message.objects.user_made(), pk=pk)
    form = MessageForm(request.POST or None, instance=message)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Message saved."))
        return redirect("campaigns:message_detail", pk=message.pk)
    return message_form_page(request, form, message)


def message_detail(request, pk):
    """A message with its preview, rendered for the person looking. Any member, managers."""
    role = require_role(request)
    message = get_object_or_404(Message.objects.user_made(), pk=pk)
    subject, text, html = services.render_preview(message, request.user, request.tenant.host)
    context = {
        "message_obj": message,
        "preview": {"subject": subject, "text": text, "html": html},
        "mailings": message.mailings.all(),
        "can_edit": role.can_edit,
    }
    return render(request, "tenant/campaigns/message_detail.html", context)


def message_delete(request, pk):
    """Delete a message after confirmation; refused while a mailing uses it. Owner, editor."""
    require_role(request, edit=True)
    message = get_object_or_404(Message.objects.user_made(), pk=pk)
    if request.method == "POST":
        try:
            services.delete_message(message)
        except services.ActionRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("campaigns:message_detail", pk=pk)
        messages.success(request, _("Message deleted."))
        return redirect("campaigns:message_list")
    context = {"message_obj": message, "mailings": message.mailings.all()}
    return render(request, "tenant/campaigns/message_confirm_delete.html", context)


@require_POST
def message_send_test(request, pk):
    """Queue the message to the current user's own address. Owner, editor."""
    require_role(request, edit=True)
    message = get_object_or_404(Message.objects.user_made(), pk=pk)
    try:
        services.send_test_message(message, request.user, request.tenant.host)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("A test email to %(email)s is queued.") % {"email": request.user.email})
    return redirect("campaigns:message_detail", pk=pk)


# --- mailings ----------------------------------------------------------------


def mailing_list(request):
    """All mailings with their status. Any member, managers."""
    role = require_role(request)
    mailings = Mailing.objects.user_made().select_related("message")
    status = request.GET.get("status")
    if status in Mailing.Status.values:
        mailings = mailings.filter(status=status)
    context = {
        "page": page_of(request, mailings),
        "status": status if status in Mailing.Status.values else "",
        "statuses": Mailing.Status.choices,
        "can_edit": role.can_edit,
    }
    return render(request, "tenant/campaigns/mailing_list.html", context)


def mailing_form_page(request, form, mailing=None):
    context = {
        "form": form,
        "mailing": mailing,
        "chosen_clients": services.clients_by_ids(form.chosen_client_ids()),
        "has_messages": Message.objects.user_made().exists(),
        "subscribed_count": services.subscribed_client_count(),
        "time_zone": request.tenant.time_zone,
    }
    return render(request, "tenant/campaigns/mailing_form.html", context)


def mailing_create(request):
    """New mailing (status "created"; the engine takes it from there). Owner, editor."""
    require_role(request, edit=True)
    form = MailingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mailing = services.save_mailing(form)
        messages.success(request, _("Mailing saved."))
        return redirect("campaigns:mailing_detail", pk=mailing.pk)
    return mailing_form_page(request, form)


def mailing_edit(request, pk):
    """Change a mailing, completed ones included (a later end sends again). Owner, editor."""
    require_role(request, edit=True)
    mailing = get_object_or_404(Mailing.objects.user_made(), pk=pk)
    form = MailingForm(request.POST or None, instance=mailing)
    if request.method == "POST" and form.is_valid():
        services.save_mailing(form)
        messages.success(request, _("Mailing saved."))
        return redirect("campaigns:mailing_detail", pk=mailing.pk)
    return mailing_form_page(request, form, mailing)


def mailing_detail(request, pk):
    """One mailing: schedule, recipients, status, its latest run's figures. Any member, managers."""
    role = require_role(request)
    mailing = get_object_or_404(Mailing.objects.user_made().select_related("message"), pk=pk)
    context = {
        "mailing": mailing,
        "recipient_count": services.recipient_count(mailing),
        "chosen_clients": mailing.clients.order_by("email")[:50],
        "chosen_count": mailing.clients.count(),
        "latest_run": latest_run(mailing),
        "delivery_counts": mailing_counts([mailing.pk]).get(mailing.pk),
        "time_zone": request.tenant.time_zone,
        "can_edit": role.can_edit,
        "platform_from": settings.DELIVERY_FROM_EMAIL,
    }
    return render(request, "tenant/campaigns/mailing_detail.html", context)


def mailing_delete(request, pk):
    """Delete a mailing (and its delivery history) after confirmation. Owner, editor."""
    require_role(request, edit=True)
    mailing = get_object_or_404(Mailing.objects.user_made(), pk=pk)
    if request.method == "POST":
        services.delete_mailing(mailing)
        messages.success(request, _("Mailing deleted."))
        return redirect("campaigns:mailing_list")
    return render(request, "tenant/campaigns/mailing_confirm_delete.html", {"mailing": mailing})


@require_POST
def mailing_pause(request, pk):
    """Pause sending. Owner, editor."""
    require_role(request, edit=True)
    mailing = get_object_or_404(Mailing.objects.user_made(), pk=pk)
    services.pause_mailing(mailing)
    messages.success(request, _("Mailing paused."))
    return redirect("campaigns:mailing_detail", pk=pk)


@require_POST
def mailing_resume(request, pk):
    """Resume sending, unless a manager disabled the mailing. Owner, editor."""
    require_role(request, edit=True)
    mailing = get_object_or_404(Mailing.objects.user_made(), pk=pk)
    try:
        services.resume_mailing(mailing)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Mailing resumed."))
    return redirect("campaigns:mailing_detail", pk=pk)


@require_GET
def client_search(request):
    """JSON page of clients for the recipient picker (?q=&page=). Owner, editor."""
    require_role(request, edit=True)
    try:
        page = int(request.GET.get("page", 1))
    except ValueError:
        page = 1
    page = min(max(page, 1), services.CLIENT_SEARCH_MAX_PAGE)
    query = request.GET.get("q", "").replace("\x00", "")  # PostgreSQL text cannot hold NUL; no client has one
    clients, has_more = services.search_clients(query, page)
    results = [{"id": c.pk, "email": c.email, "name": c.full_name, "subscribed": c.is_subscribed} for c in clients]
    return JsonResponse({"results": results, "page": page, "has_more": has_more})

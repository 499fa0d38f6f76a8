"""Clients of the current workspace.

Every view runs behind WorkspaceAccessMiddleware (members and managers of
this workspace only; others get 404). Reading is open to every role;
changing needs owner or editor (`require_role(request, edit=True)`).
"""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenant_apps.engagement import reports as engagement_reports
from tenants.access import require_role
from tenants.services import site_url

from . import data_rights, lists, segments, services, subscriptions, tasks
from . import fields as custom_fields
from .forms import (
    ClientFilterForm,
    ClientForm,
    CustomFieldForm,
    ErasureForm,
    ImportForm,
    MailingListForm,
    SegmentForm,
    SubscriptionFormForm,
)
from .models import Client, CustomField, DataRightsLog, ImportJob, MailingList, Segment, SubscriptionForm

PAGE_SIZE = 50


def client_list(request):
    """Search, filter and page through clients. Every role may see it."""
    role = require_role(request)
    filter_form = ClientFilterForm(request.GET)
    query, status, list_id = filter_form.filters()
    page = Paginator(services.search_clients(query, status, list_id), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "tenant/clients/list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "filter_query": params.urlencode(),
            "is_filtered": bool(query or status or list_id),
            "can_edit": role.can_edit,
        },
    )


def client_detail(request, pk):
    """One client and their subscription state. Every role may see it."""
    role = require_role(request)
    client = get_object_or_404(Client, pk=pk)
    context = {
        "client": client,
        "can_edit": role.can_edit,
        "can_exercise_rights": role.can_manage_members,
        "data_requests": data_rights.requests_about(client) if role.can_manage_members else [],
        "tracking_hits": engagement_reports.client_hits(client.pk),
        "memberships": lists.client_memberships(client),
        "consent_records": client.consent_records.select_related("mailing_list", "form"),
        "field_values": [
            (definition.label, custom_fields.display((client.fields or {}).get(definition.key)))
            for definition in custom_fields.definitions()
        ],
    }
    return render(request, "tenant/clients/detail.html", context)


def client_create(request):
    """Add a client. Owners and editors only."""
    require_role(request, edit=True)
    return _client_form(request, Client(), _("Client %(email)s added."))


def client_edit(request, pk):
    """Change a client, their subscription included. Owners and editors only."""
    require_role(request, edit=True)
    return _client_form(request, get_object_or_404(Client, pk=pk), _("Client %(email)s saved."))


def _client_form(request, client, success):
    form = ClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                client = services.save_client(form.instance)
                lists.set_client_lists(client, form.cleaned_data["lists"])
        except services.EmailTaken:
            form.add_error("email", _("A client with this email already exists (emails are compared ignoring case)."))
        else:
            messages.success(request, success % {"email": client.email})
            return redirect("audience:detail", pk=client.pk)
    return render(request, "tenant/clients/form.html", {"form": form, "client": client})


def client_delete(request, pk):
    """Confirm, then delete a client. Owners and editors only."""
    require_role(request, edit=True)
    client = get_object_or_404(Client, pk=pk)
    if request.method == "POST":
        services.delete_client(client)
        messages.success(request, _("Client %(email)s deleted.") % {"email": client.email})
        return redirect("audience:list")
    return render(request, "tenant/clients/delete.html", {"client": client})


@require_POST
def client_subscription(request, pk):
    """Unsubscribe or subscribe again a client. Owners and editors only."""
    require_role(request, edit=True)
    client = get_object_or_404(Client, pk=pk)
    services.set_subscription(client, request.POST.get("subscribed") == "1")
    services.save_client(client)
    return redirect("audience:detail", pk=client.pk)


def client_export(request):
    """Download the clients (all, or as filtered on the list) as CSV. Every role may."""
    require_role(request)
    query, status, list_id = ClientFilterForm(request.GET).filters()
    response = StreamingHttpResponse(
        services.export_rows(services.search_clients(query, status, list_id)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="clients-{request.tenant.slug}-{stamp}.csv"'
    return response


# --- data rights (GDPR access and erasure) -----------------------------------------------
# Owners only, as the data controller's decision (Mailchimp and pretix keep them to owners and
# admins); editors change content, managers oversee read-only, neither exports a person or erases one.


def client_data_export(request, pk):
    """Download everything held about one client as JSON; the export is logged. Owners only."""
    require_role(request, manage_members=True)
    client = get_object_or_404(Client, pk=pk)
    data = data_rights.export_client(client)
    data_rights.record_export(client, by=request.user.email)
    response = JsonResponse(data, encoder=DjangoJSONEncoder, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="client-{client.pk}-{timezone.localdate():%Y-%m-%d}.json"'
    return response


def client_erase(request, pk):
    """Confirm by typing the email, then erase the client for good. Owners only."""
    require_role(request, manage_members=True)
    client = get_object_or_404(Client, pk=pk)
    form = ErasureForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        result = data_rights.erase_client(client, by=request.user.email)
        messages.success(
            request,
            _("The client was erased; their deliveries stay in the reports as %(erased)s.")
            % {"erased": result.erased_as},
        )
        return redirect("audience:list")
    return render(request, "tenant/clients/erase.html", {"client": client, "form": form})


def data_rights_log(request):
    """Every export and erasure of this workspace, newest first. Owners only."""
    require_role(request, manage_members=True)
    page = Paginator(DataRightsLog.objects.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tenant/clients/data_rights_log.html", {"page": page})


def import_start(request):
    """Upload a CSV file to import (owners and editors); the list of recent imports (every role)."""
    role = require_role(request, edit=request.method == "POST")
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = services.create_import_job(
            form.cleaned_data["file"], uploaded_by=request.user.email, target_list=form.cleaned_data["target_list"]
        )
        schema_name = connection.schema_name
        transaction.on_commit(lambda: tasks.import_clients(schema_name, job.pk))
        return redirect("audience:import_detail", pk=job.pk)
    recent = ImportJob.objects.defer("data")[:10]
    return render(request, "tenant/clients/import.html", {"form": form, "recent": recent, "can_edit": role.can_edit})


def import_detail(request, pk):
    """An import's progress, then its report. Every role may see it."""
    require_role(request)
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk)
    return render(
        request,
        "tenant/clients/import_detail.html",
        {"job": job, "errors": services.error_report(job), "failure": services.failure_message(job)},
    )


def import_progress(request, pk):
    """An import's progress as JSON, polled by its page. Every role may see it."""
    require_role(request)
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk)
    return JsonResponse(
        {
            "status": job.status,
            "finished": job.is_finished,
            "percent": job.percent,
            "total": job.total_rows,
            "processed": job.processed_rows,
            "created": job.created_count,
            "existing": job.existing_count,
            "rejected": job.error_count,
            "url": reverse("audience:import_detail", args=[job.pk]),
        }
    )


# --- lists ------------------------------------------------------------------------


def list_index(request):
    """Every list with its member counts. Every role may see it."""
    role = require_role(request)
    return render(request, "tenant/lists/index.html", {"lists": lists.lists_with_counts(), "can_edit": role.can_edit})


def list_detail(request, pk):
    """One list, its counts and its settings. Every role may see it."""
    role = require_role(request)
    mailing_list = get_object_or_404(lists.lists_with_counts(), pk=pk)
    context = {"mailing_list": mailing_list, "can_edit": role.can_edit, "forms": mailing_list.forms.all()}
    return render(request, "tenant/lists/detail.html", context)


def list_create(request):
    """Add a list. Owners and editors only."""
    require_role(request, edit=True)
    return _list_form(request, MailingList(), _("List %(name)s added."))


def list_edit(request, pk):
    """Change a list's name and settings. Owners and editors only."""
    require_role(request, edit=True)
    return _list_form(request, get_object_or_404(MailingList, pk=pk), _("List %(name)s saved."))


def _list_form(request, mailing_list, success):
    form = MailingListForm(request.POST or None, instance=mailing_list)
    if request.method == "POST" and form.is_valid():
        mailing_list = form.save()
        messages.success(request, success % {"name": mailing_list.name})
        return redirect("audience:list_detail", pk=mailing_list.pk)
    return render(request, "tenant/lists/form.html", {"form": form, "mailing_list": mailing_list})


def list_delete(request, pk):
    """Confirm, then delete a list (its clients stay). Owners and editors only."""
    require_role(request, edit=True)
    mailing_list = get_object_or_404(MailingList, pk=pk)
    if request.method == "POST":
        try:
            lists.delete_list(mailing_list)
        except lists.ListInUse:
            messages.error(request, _("A mailing that has not completed sends to this list; change it first."))
            return redirect("audience:list_detail", pk=mailing_list.pk)
        messages.success(request, _("List %(name)s deleted.") % {"name": mailing_list.name})
        return redirect("audience:lists")
    return render(request, "tenant/lists/delete.html", {"mailing_list": mailing_list})


# --- subscription forms of a list ------------------------------------------------------------
# Every role may see a form and its snippet; owners and editors make and change them.


def form_create(request, pk):
    """Add a sign-up form to a public list. Owners and editors only."""
    require_role(request, edit=True)
    mailing_list = get_object_or_404(MailingList, pk=pk)
    if not mailing_list.is_public:
        messages.error(request, _("Only a public list can have a subscription form: make the list public first."))
        return redirect("audience:list_detail", pk=mailing_list.pk)
    return _subscription_form(request, SubscriptionForm(mailing_list=mailing_list), _("Form %(name)s added."))


def form_edit(request, pk):
    """Change a sign-up form. Owners and editors only."""
    require_role(request, edit=True)
    form = get_object_or_404(SubscriptionForm.objects.select_related("mailing_list"), pk=pk)
    return _subscription_form(request, form, _("Form %(name)s saved."))


def _subscription_form(request, subscription_form, success):
    form = SubscriptionFormForm(request.POST or None, instance=subscription_form)
    if request.method == "POST" and form.is_valid():
        subscription_form = form.save()
        messages.success(request, success % {"name": subscription_form.title})
        return redirect("audience:form_detail", pk=subscription_form.pk)
    context = {"form": form, "subscription_form": subscription_form, "mailing_list": subscription_form.mailing_list}
    return render(request, "tenant/forms/form.html", context)


def form_detail(request, pk):
    """A sign-up form: its hosted page's address and the snippet to paste. Every role may see it."""
    role = require_role(request)
    subscription_form = get_object_or_404(SubscriptionForm.objects.select_related("mailing_list"), pk=pk)
    page_url = site_url(request.tenant.host, reverse("subscribe", args=[subscription_form.slug]))
    context = {
        "subscription_form": subscription_form,
        "mailing_list": subscription_form.mailing_list,
        "page_url": page_url,
        "snippet": subscriptions.form_snippet(subscription_form, page_url),
        "can_edit": role.can_edit,
    }
    return render(request, "tenant/forms/detail.html", context)


def form_delete(request, pk):
    """Confirm, then delete a sign-up form (its consent records stay). Owners and editors only."""
    require_role(request, edit=True)
    subscription_form = get_object_or_404(SubscriptionForm.objects.select_related("mailing_list"), pk=pk)
    if request.method == "POST":
        subscription_form.delete()
        messages.success(request, _("Form %(name)s deleted.") % {"name": subscription_form.title})
        return redirect("audience:list_detail", pk=subscription_form.mailing_list_id)
    return render(request, "tenant/forms/delete.html", {"subscription_form": subscription_form})


# --- custom fields ----------------------------------------------------------------------
# Every role may see the definitions; only owners define them (they shape every form and import).


def field_index(request):
    """The workspace's custom fields. Every role may see them."""
    role = require_role(request)
    context = {"definitions": custom_fields.definitions(), "can_manage": role.can_manage_members}
    return render(request, "tenant/fields/index.html", context)


def field_create(request):
    """Define a field. Owners only."""
    require_role(request, manage_members=True)
    return _field_form(request, CustomField(), _("Field %(label)s added."))


def field_edit(request, pk):
    """Change a field's label or choices. Owners only."""
    require_role(request, manage_members=True)
    return _field_form(request, get_object_or_404(CustomField, pk=pk), _("Field %(label)s saved."))


def _field_form(request, definition, success):
    form = CustomFieldForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        definition = form.save()
        messages.success(request, success % {"label": definition.label})
        return redirect("audience:fields")
    return render(request, "tenant/fields/form.html", {"form": form, "definition": definition})


def field_delete(request, pk):
    """Confirm, then delete a field and its values. Owners only."""
    require_role(request, manage_members=True)
    definition = get_object_or_404(CustomField, pk=pk)
    if request.method == "POST":
        custom_fields.delete_field(definition)
        messages.success(request, _("Field %(label)s deleted.") % {"label": definition.label})
        return redirect("audience:fields")
    return render(request, "tenant/fields/delete.html", {"definition": definition})


# --- segments -----------------------------------------------------------------------------
# Every role may see segments and their counts; owners and editors change them.


def segment_index(request):
    """Every segment. Every role may see them."""
    role = require_role(request)
    context = {"segments": Segment.objects.order_by("name"), "can_edit": role.can_edit}
    return render(request, "tenant/segments/index.html", context)


def segment_detail(request, pk):
    """A segment's conditions (read-only builder), live count and preview. Every role may see it."""
    role = require_role(request)
    segment = get_object_or_404(Segment, pk=pk)
    form = SegmentForm(segment=segment)
    return _segment_page(request, form, segment, readonly=True, can_edit=role.can_edit)


def segment_create(request):
    """Build a segment. Owners and editors only."""
    require_role(request, edit=True)
    return _segment_form(request, Segment(), _("Segment %(name)s added."))


def segment_edit(request, pk):
    """Change a segment's name and conditions. Owners and editors only."""
    require_role(request, edit=True)
    return _segment_form(request, get_object_or_404(Segment, pk=pk), _("Segment %(name)s saved."))


def _segment_form(request, segment, success):
    form = SegmentForm(request.POST or None, segment=segment)
    if request.method == "POST" and form.is_valid():
        segment = segments.save_segment(segment, form.cleaned_data["name"], form.cleaned_data["definition"])
        messages.success(request, success % {"name": segment.name})
        return redirect("audience:segment_detail", pk=segment.pk)
    return _segment_page(request, form, segment, readonly=False, can_edit=True)


def _segment_page(request, form, segment, *, readonly, can_edit):
    context = {
        "form": form,
        "segment": segment,
        "readonly": readonly,
        "can_edit": can_edit,
        "builder": segments.builder_options(),
    }
    return render(request, "tenant/segments/form.html", context)


def segment_preview(request):
    """The live count and first matching clients of the conditions in `?definition=` (JSON). Every role may."""
    require_role(request)
    try:
        return JsonResponse(segments.preview_json(json.loads(request.GET.get("definition") or "{}")))
    except ValueError:
        return JsonResponse({"ok": False, "errors": [_("The conditions are not in the expected form.")]})
    except segments.InvalidDefinition as error:
        return JsonResponse({"ok": False, "errors": error.messages})


def segment_delete(request, pk):
    """Confirm, then delete a segment (its clients stay). Owners and editors only."""
    require_role(request, edit=True)
    segment = get_object_or_404(Segment, pk=pk)
    if request.method == "POST":
        try:
            segments.delete_segment(segment)
        except segments.SegmentInUse:
            messages.error(request, _("A mailing that has not completed sends to this segment; change it first."))
            return redirect("audience:segment_detail", pk=segment.pk)
        messages.success(request, _("Segment %(name)s deleted.") % {"name": segment.name})
        return redirect("audience:segments")
    return render(request, "tenant/segments/delete.html", {"segment": segment})

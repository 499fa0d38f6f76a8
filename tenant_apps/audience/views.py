"""Clients of the current workspace.

Every view runs behind WorkspaceAccessMiddleware (members and managers of
this workspace only; others get 404). Reading is open to every role;
changing needs owner or editor (`require_role(request, edit=True)`).
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenant_apps.engagement import reports as engagement_reports
from tenants.access import require_role

from . import services, tasks
from .forms import ClientFilterForm, ClientForm, ImportForm
from .models import Client, ImportJob

PAGE_SIZE = 50


def client_list(request):
    """Search, filter and page through clients. Every role may see it."""
    role = require_role(request)
    filter_form = ClientFilterForm(request.GET)
    query, status = filter_form.filters()
    page = Paginator(services.search_clients(query, status), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "tenant/clients/list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "filter_query": params.urlencode(),
            "is_filtered": bool(query or status),
            "can_edit": role.can_edit,
        },
    )


def client_detail(request, pk):
    """One client and their subscription state. Every role may see it."""
    role = require_role(request)
    client = get_object_or_404(Client, pk=pk)
    context = {"client": client, "can_edit": role.can_edit, "tracking_hits": engagement_reports.client_hits(client.pk)}
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
            client = services.save_client(form.instance)
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
    query, status = ClientFilterForm(request.GET).filters()
    response = StreamingHttpResponse(
        services.export_rows(services.search_clients(query, status)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="clients-{request.tenant.slug}-{stamp}.csv"'
    return response


def import_start(request):
    """Upload a CSV file to import (owners and editors); the list of recent imports (every role)."""
    role = require_role(request, edit=request.method == "POST")
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = services.create_import_job(form.cleaned_data["file"], uploaded_by=request.user.email)
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

"""Sending identities pages: domains (DNS records, verification, key rotation) and own SMTP providers.

Owners change them; every other member and managers see them read-only.
DNS checks and connection tests go through the queue: the page shows
"checking…" and reloads until the answer is there.
"""

from django.contrib import messages
from django.db import connection
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants.access import require_role

from . import quotas, services
from .forms import DomainForm, DomainProviderForm, ProviderForm
from .models import SendingDomain, SmtpProvider


def index(request):
    """Domains and providers of the workspace, with this month's usage. Any member, managers."""
    role = require_role(request)
    workspace = request.tenant
    context = {
        "domains": SendingDomain.objects.all(),
        "providers": SmtpProvider.objects.all(),
        "can_manage": role.can_manage_members,
        "platform_domain": services.platform_domain(),
        "message_usage": quotas.message_usage(workspace),
        "client_usage": quotas.client_usage(workspace),
    }
    return render(request, "tenant/senders/index.html", context)


def domain_add(request):
    """Add a sending domain (a DKIM key is generated). Owners."""
    require_role(request, manage_members=True)
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        domain = services.add_domain(form.cleaned_data["name"])
        messages.success(request, _("Domain added. Publish the DNS records below, then check them."))
        return redirect("senders:domain_detail", domain.pk)
    return render(request, "tenant/senders/domain_add.html", {"form": form}, status=400 if form.errors else 200)


def domain_detail(request, pk):
    """A domain's DNS records, state and provider. Any member, managers; owners change the provider."""
    role = require_role(request)
    domain = get_object_or_404(SendingDomain, pk=pk)
    form = DomainProviderForm(request.POST or None, instance=domain)
    if request.method == "POST":
        require_role(request, manage_members=True)
        if form.is_valid():
            form.save()
            messages.success(request, _("Provider saved."))
            return redirect("senders:domain_detail", domain.pk)
    context = {
        "domain": domain,
        "records": services.dns_records(domain),
        "keys": domain.keys.all(),
        "form": form,
        "can_manage": role.can_manage_members,
    }
    return render(request, "tenant/senders/domain_detail.html", context, status=400 if form.errors else 200)


@require_POST
def domain_verify(request, pk):
    """Queue a DNS check of the domain now. Owners."""
    require_role(request, manage_members=True)
    domain = get_object_or_404(SendingDomain, pk=pk)
    services.request_domain_check(domain, connection.schema_name)
    return redirect("senders:domain_detail", domain.pk)


@require_POST
def domain_rotate(request, pk):
    """Start a DKIM key rotation (a new selector to publish). Owners."""
    require_role(request, manage_members=True)
    domain = get_object_or_404(SendingDomain, pk=pk)
    key = services.rotate_key(domain)
    messages.success(
        request,
        _("New key %(selector)s: publish its record; it replaces the current key once the check finds it.")
        % {"selector": key.selector},
    )
    return redirect("senders:domain_detail", domain.pk)


@require_POST
def domain_delete(request, pk):
    """Remove a domain (mailings sending from it fall back to being refused at save). Owners."""
    require_role(request, manage_members=True)
    get_object_or_404(SendingDomain, pk=pk).delete()
    messages.success(request, _("Domain removed."))
    return redirect("senders:index")


def provider_form_page(request, form, provider=None):
    status = 400 if form.errors else 200
    return render(request, "tenant/senders/provider_form.html", {"form": form, "provider": provider}, status=status)


def provider_add(request):
    """Add an own SMTP provider. Owners."""
    require_role(request, manage_members=True)
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        provider = services.save_provider(form.save(commit=False))
        messages.success(request, _("Provider saved."))
        return redirect("senders:provider_edit", provider.pk)
    return provider_form_page(request, form)


def provider_edit(request, pk):
    """Change a provider and see its last connection test. Owners; other members and managers read-only."""
    role = require_role(request)
    provider = get_object_or_404(SmtpProvider, pk=pk)
    if not role.can_manage_members:
        return render(request, "tenant/senders/provider_detail.html", {"provider": provider})
    form = ProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        services.save_provider(form.save(commit=False))
        messages.success(request, _("Provider saved."))
        return redirect("senders:provider_edit", provider.pk)
    return provider_form_page(request, form, provider)


@require_POST
def provider_test(request, pk):
    """Queue a real connection test (EHLO, STARTTLS, AUTH); the page shows the answer. Owners."""
    require_role(request, manage_members=True)
    provider = get_object_or_404(SmtpProvider, pk=pk)
    services.request_connection_test(provider, connection.schema_name)
    return redirect("senders:provider_edit", provider.pk)


@require_POST
def provider_delete(request, pk):
    require_role(request, manage_members=True)
    get_object_or_404(SmtpProvider, pk=pk).delete()
    messages.success(request, _("Provider removed."))
    return redirect("senders:index")

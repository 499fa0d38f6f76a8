"""Workspace-host pages of the API: keys (owners; managers look), the schema and its documentation (members)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.renderers import OpenApiJsonRenderer

from tenants.access import Role, require_role

from . import keys
from .forms import ApiKeyForm
from .models import ApiKey
from .openapi import schema_document


def require_key_viewer(request):
    """Owners manage keys; managers may look (read only); editors and viewers get 404."""
    role = require_role(request)
    if role not in (Role.OWNER, Role.MANAGER):
        raise Http404
    return role


def api_keys(request):
    """Workspace host, owners (managers read only): the keys, and a new one (its secret shown once)."""
    role = require_key_viewer(request)
    form = ApiKeyForm(request.POST or None)
    secret = None
    if request.method == "POST":
        require_role(request, manage_members=True)
        if form.is_valid():
            key, secret = keys.create_key(
                name=form.cleaned_data["name"],
                access=form.cleaned_data["access"],
                expires_at=form.expires_at(),
                created_by=request.user.email,
            )
            form = ApiKeyForm()
    context = {
        "keys": keys.keys_for_settings(),
        "form": form,
        "secret": secret,
        "can_manage": role.can_manage_members,
        "api_url": request.build_absolute_uri("/api/v1/"),
    }
    return render(request, "tenant/api/keys.html", context, status=400 if form.errors else 200)


@require_POST
def revoke_api_key(request, pk):
    """Workspace host, owners only: the key stops working at once."""
    require_role(request, manage_members=True)
    key = get_object_or_404(ApiKey, pk=pk)
    keys.revoke_key(key)
    messages.success(request, _("Key %(name)s revoked.") % {"name": key.name})
    return redirect("api:keys")


def schema(request):
    """Workspace host, any member or manager: the OpenAPI 3 schema of /api/v1/ (JSON)."""
    require_role(request)
    document = OpenApiJsonRenderer().render(schema_document(request))
    return HttpResponse(document, content_type="application/vnd.oai.openapi+json")


def docs(request):
    """Workspace host, any member or manager: Swagger UI from our own static files."""
    require_role(request)
    return render(request, "tenant/api/swagger.html")


def redoc(request):
    """Workspace host, any member or manager: Redoc from our own static files."""
    require_role(request)
    return render(request, "tenant/api/redoc.html")

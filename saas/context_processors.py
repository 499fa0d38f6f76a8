from django.conf import settings
from django.urls import reverse

from saas.links import absolute_url, site_scheme
from shared_apps.landing.dev_views import mail_catcher_open_to
from tenants.middleware import public_url


def public_site_links(request):
    """Absolute links from a workspace host back to the account pages of the public site."""

    def link(name):
        return public_url(request, reverse(name, urlconf=settings.PUBLIC_SCHEMA_URLCONF))

    return {"workspaces": link("workspaces"), "profile": link("profile")}


def site(request):
    workspace = getattr(request, "tenant", None)
    on_workspace = workspace is not None and not workspace.is_public
    return {
        "BASE_DOMAIN": settings.BASE_DOMAIN,
        "workspace": workspace if on_workspace else None,
        "public_site_links": public_site_links(request) if on_workspace else None,
        "workspace_role": getattr(request, "workspace_role", None),
        "mail_catcher_enabled": mail_catcher_open_to(request),
        "PUBLIC_HOME_URL": absolute_url("/"),
        "SITE_SCHEME": site_scheme(),
    }

import zoneinfo

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_tenants.middleware.main import TenantMainMiddleware

from saas.links import absolute_url

from .access import workspace_role
from .hostcache import workspace_for_host

# Paths on a workspace host that need no membership.
# The REST API authenticates by its own keys (tenant_apps/api), not by membership.
OPEN_WORKSPACE_PATHS = ("/static/", "/media/", "/i18n/", "/handoff/", "/u/", "/p/", "/f/", "/favicon.ico", "/api/v1/")


class WorkspaceMainMiddleware(TenantMainMiddleware):
    """Routes by host (the lookup cached: tenants/hostcache.py); a disabled workspace is as unknown as a missing one."""

    def get_tenant(self, domain_model, hostname):
        tenant = workspace_for_host(
            hostname, lambda: super(WorkspaceMainMiddleware, self).get_tenant(domain_model, hostname)
        )
        if not tenant.is_active and not tenant.is_public:
            raise domain_model.DoesNotExist
        return tenant


def public_url(request, path):
    """An absolute URL on the public site; from SITE_URL like every absolute link, not from `request`
    (behind a proxy its port is the proxy's upstream)."""
    return absolute_url(path)


class WorkspaceAccessMiddleware:
    """Every request to a workspace host needs a member (or a manager).

    Anonymous visitors are sent to sign in; signed-in strangers get 404, so
    workspace names do not leak.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        workspace = getattr(request, "tenant", None)
        request.workspace_role = None
        if workspace is None or workspace.is_public or request.path.startswith(OPEN_WORKSPACE_PATHS):
            return self.get_response(request)
        if not request.user.is_authenticated:
            # After signing in on the public site, the hand-off brings them back here.
            login = reverse("account_login", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
            back = reverse("open_workspace", args=[workspace.slug], urlconf=settings.PUBLIC_SCHEMA_URLCONF)
            back += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(public_url(request, login) + "?" + urlencode({"next": back}))
        request.workspace_role = workspace_role(request.user, workspace)
        if request.workspace_role is None:
            raise Http404
        return self.get_response(request)


def zone_or_none(name):
    """The ZoneInfo of a stored zone name, or None when the name is empty or unknown."""
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def request_time_zone(request):
    """Workspace hosts show times in the workspace's zone; the public site in the signed-in user's."""
    workspace = getattr(request, "tenant", None)
    if workspace is not None and not workspace.is_public:
        return zone_or_none(workspace.time_zone)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return zone_or_none(user.time_zone)
    return None


class TimeZoneMiddleware:
    """Renders every page's dates in the zone of its reader (see request_time_zone).

    Anonymous visitors and unknown zone names get settings.TIME_ZONE. The
    zone is overridden only for this request, so nothing leaks into the next
    one served by the same thread.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with timezone.override(request_time_zone(request)):
            return self.get_response(request)

"""Times are typed and shown in the workspace's time zone."""

import functools
import zoneinfo

from django.conf import settings
from django.utils import timezone


def workspace_zone(workspace):
    """The workspace's zone; the site default when its name is unknown."""
    try:
        return zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def in_workspace_time_zone(view):
    """Activate the request's workspace zone for forms and templates during `view`."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(workspace_zone(request.tenant)):
            response = view(request, *args, **kwargs)
            # Templates render lazily: render inside the zone.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    return wrapper

"""Who may use the managers' console, and which workspaces they oversee.

Managers (the Managers group, and superusers) oversee every workspace. A
scoped manager holds the guardian permission `tenants.oversee_workspace` on
chosen Workspace rows (public objects, so guardian is safe here) and sees
only those, in every list and every action.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from tenants.access import is_manager
from tenants.models import Workspace

OVERSEE_PERM = "tenants.oversee_workspace"


def visible_workspaces(user):
    """The workspaces `user` may oversee from the console (none for non-managers)."""
    workspaces = Workspace.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).select_related("owner")
    if not user.is_authenticated or not user.is_active:
        return workspaces.none()
    if is_manager(user):
        return workspaces
    return get_objects_for_user(
        user, OVERSEE_PERM, klass=workspaces, with_superuser=False, accept_global_perms=False
    ).select_related("owner")


def can_use_console(user):
    """Managers, and scoped managers who oversee at least one workspace."""
    if not user.is_authenticated or not user.is_active:
        return False
    return is_manager(user) or visible_workspaces(user).exists()


def visible_workspace_or_404(user, slug):
    try:
        return visible_workspaces(user).get(slug=slug)
    except Workspace.DoesNotExist:
        raise Http404 from None


def console_view(*, managers_only=False):
    """Guard a console view.

    Anonymous visitors are sent to sign in. Signed-in users who may not use
    the console get 404 (as on workspace hosts), so the console does not
    announce itself. `managers_only` pages (the users) are closed to scoped
    managers too: blocking a person acts on every workspace at once.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            allowed = is_manager(request.user) if managers_only else can_use_console(request.user)
            if not allowed:
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

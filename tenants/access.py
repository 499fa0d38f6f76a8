"""Who may do what in a workspace.

Roles are django-guardian object permissions on the (public) Workspace row.
Never use guardian for rows inside a workspace schema: it stores no schema,
so a permission on workspace A's object 14 would also answer for B's 14.
"""

from enum import Enum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from guardian.shortcuts import assign_perm, get_user_perms, remove_perm
from guardian.utils import get_user_obj_perms_model

MANAGERS_GROUP = "Managers"

ROLE_PERMS = {
    "owner": ("own_workspace", "edit_content", "view_workspace"),
    "editor": ("edit_content", "view_workspace"),
    "viewer": ("view_workspace",),
}
MEMBER_PERMS = ("own_workspace", "edit_content", "view_workspace")


class Role(str, Enum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"
    MANAGER = "manager"  # oversees, read only

    @property
    def label(self):
        return ROLE_LABELS[self]

    @property
    def can_edit(self):
        return self in (Role.OWNER, Role.EDITOR)

    @property
    def can_manage_members(self):
        return self is Role.OWNER


ROLE_LABELS = {
    Role.OWNER: _("owner"),
    Role.EDITOR: _("editor"),
    Role.VIEWER: _("viewer"),
    Role.MANAGER: _("manager"),
}


def role_from_perms(perms):
    """The member role that a set of permission codenames amounts to, or None."""
    if "own_workspace" in perms:
        return Role.OWNER
    if "edit_content" in perms:
        return Role.EDITOR
    if "view_workspace" in perms:
        return Role.VIEWER
    return None


def stored_member_perms(workspace, user=None):
    """{user id: {codename}} of the member permissions stored on `workspace`.

    Read from guardian's table, not through its checker: the checker answers
    nothing for an inactive user, but a member a manager blocked still holds
    their role (shown as blocked, removable, and back in place if unblocked).
    Entering the workspace is refused separately (`workspace_role`).
    """
    rows = (
        get_user_obj_perms_model()
        .objects.filter(
            content_type=ContentType.objects.get_for_model(workspace),
            object_pk=str(workspace.pk),
            permission__codename__in=MEMBER_PERMS,
        )
        .values_list("user_id", "permission__codename")
    )
    if user is not None:
        rows = rows.filter(user_id=user.pk)
    perms = {}
    for user_id, codename in rows:
        perms.setdefault(user_id, set()).add(codename)
    return perms


def member_role(user, workspace):
    """The role a user holds as a member (not as a manager), or None; a blocked member keeps theirs."""
    return role_from_perms(stored_member_perms(workspace, user).get(user.pk, set()))


def is_manager(user):
    return user.is_active and (user.is_superuser or user.groups.filter(name=MANAGERS_GROUP).exists())


def workspace_role(user, workspace):
    """The role through which `user` may enter `workspace`, or None."""
    if not user.is_authenticated or not user.is_active or workspace.is_public:
        return None
    role = member_role(user, workspace)
    if role:
        return role
    if is_manager(user) or "oversee_workspace" in get_user_perms(user, workspace):
        return Role.MANAGER
    return None


def require_role(request, *, edit=False, manage_members=False):
    """The current request's role, or 404 when it may not do this here."""
    role = getattr(request, "workspace_role", None)
    if role is None:
        raise Http404
    if manage_members and not role.can_manage_members:
        raise Http404
    if edit and not role.can_edit:
        raise Http404
    return role


def set_member_role(user, workspace, role):
    """Give `user` exactly `role` in `workspace` (replacing any earlier one)."""
    remove_member(user, workspace)
    for perm in ROLE_PERMS[Role(role).value]:
        assign_perm(perm, user, workspace)


def remove_member(user, workspace):
    for perm in MEMBER_PERMS:
        remove_perm(perm, user, workspace)


def workspace_members(workspace):
    """[(user, role)] of the workspace's members, blocked ones included, owners first."""
    perms = stored_member_perms(workspace)
    users = get_user_model().objects.filter(pk__in=perms)
    members = [(user, role_from_perms(perms[user.pk])) for user in users]
    order = [Role.OWNER, Role.EDITOR, Role.VIEWER]
    return sorted(members, key=lambda m: (order.index(m[1]), m[0].email))


def workspaces_of(user):
    """The non-public workspaces where `user` is a member."""
    from guardian.shortcuts import get_objects_for_user

    return get_objects_for_user(user, "tenants.view_workspace", with_superuser=False, accept_global_perms=False).filter(
        is_active=True
    )


def workspaces_overseen_by(user):
    """The workspaces a manager may view read-only: all for the Managers group, else the chosen ones."""
    from guardian.shortcuts import get_objects_for_user

    from .models import Workspace

    active = Workspace.objects.filter(is_active=True).exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    if is_manager(user):
        return active
    return get_objects_for_user(
        user, "tenants.oversee_workspace", klass=active, with_superuser=False, accept_global_perms=False
    )


def ensure_managers_group():
    group, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    return group

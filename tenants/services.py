"""Creating workspaces and keeping the public workspace in place."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from saas.links import absolute_url

from .access import Role, member_role, remove_member, set_member_role, workspace_members
from .models import Domain, Workspace

RESERVED_SLUGS = frozenset(
    "www admin api mail smtp imap pop static media public app help support blog status "
    "dashboard account accounts login signup test template root manager console".split()
)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")


def validate_slug(slug):
    """The rules for a workspace address; raises ValidationError with the reason."""
    if not SLUG_RE.match(slug or "") or "--" in slug:
        raise ValidationError(
            _("Use 3 to 40 lowercase Latin letters, digits and single hyphens; start and end with a letter or digit."),
            code="invalid",
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(_("This address is reserved."), code="reserved")
    if Workspace.objects.filter(slug=slug).exists():
        raise ValidationError(_("This address is already taken."), code="taken")


def schema_name_for(slug):
    return "ws_" + slug.replace("-", "_")


def workspace_host(slug):
    return f"{slug}.{settings.BASE_DOMAIN}"


def site_url(host, path="/"):
    """An absolute URL on `host` (kept for its callers: it is `saas.links.absolute_url`)."""
    return absolute_url(path, host=host)


def create_workspace(*, name, slug, owner=None):
    """Create a workspace: its row, its domain and its schema (cloned from the template)."""
    validate_slug(slug)
    with transaction.atomic():
        workspace = Workspace(name=name, slug=slug, owner=owner, schema_name=schema_name_for(slug))
        workspace.save()
        Domain.objects.create(domain=workspace_host(slug), tenant=workspace, is_primary=True)
        if owner is not None:
            set_member_role(owner, workspace, Role.OWNER)
    connection.set_schema_to_public()
    return workspace


def ensure_public_workspace():
    """The public tenant and its domain (BASE_DOMAIN); safe to call again."""
    workspace, _created = Workspace.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"name": "Rassylka", "slug": "public"},
    )
    Domain.objects.update_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": workspace, "is_primary": True})
    return workspace


class LastOwnerError(Exception):
    """A workspace must keep at least one owner."""


class NotAMemberError(Exception):
    """The person is not a member of this workspace."""


def is_last_owner(user, workspace):
    """Whether `user` is an owner and no other owner could still sign in (a blocked one cannot)."""
    owners = [member for member, role in workspace_members(workspace) if role is Role.OWNER]
    return user in owners and not any(owner.is_active for owner in owners if owner != user)


def change_member_role(workspace, user, role):
    """Give a member another role; the last owner cannot step down."""
    if member_role(user, workspace) is None:
        raise NotAMemberError
    if Role(role) is not Role.OWNER and is_last_owner(user, workspace):
        raise LastOwnerError
    set_member_role(user, workspace, role)


def remove_workspace_member(workspace, user):
    """Take a member out of the workspace; the last owner cannot be removed."""
    if member_role(user, workspace) is None:
        raise NotAMemberError
    if is_last_owner(user, workspace):
        raise LastOwnerError
    remove_member(user, workspace)


def update_workspace_settings(workspace, *, name, time_zone):
    workspace.name = name
    workspace.time_zone = time_zone
    workspace.save(update_fields=["name", "time_zone"])
    return workspace

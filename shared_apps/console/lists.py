"""The console's lists of mailings and clients, read from the public index only (models.py).

A full manager's list is the whole index; a scoped manager's is filtered to
the workspaces they oversee (a subquery on the guardian permission), and a
chosen workspace narrows either to one. Ordered by indexed columns, so a
page is an index range whatever the number of workspaces.
"""

from django.db.models import QuerySet
from django.db.models.functions import Lower

from tenants.access import is_manager

from .access import visible_workspaces
from .models import ClientIndex, MailingIndex


def _visible(rows: QuerySet, user, workspace=None) -> QuerySet:
    if workspace is not None:
        return rows.filter(workspace=workspace)
    if is_manager(user):
        return rows
    return rows.filter(workspace__in=visible_workspaces(user).values("pk"))


def mailings(user, *, workspace=None, status: str = "", name: str = "") -> QuerySet:
    """The mailings `user` oversees, newest start first."""
    rows = _visible(MailingIndex.objects.select_related("workspace"), user, workspace)
    if status:
        rows = rows.filter(status=status)
    if name:
        rows = rows.filter(name__ilike=name)
    return rows.order_by("-start_at", "workspace_id", "mailing_id")


def clients(user, *, workspace=None, email: str = "") -> QuerySet:
    """The clients `user` oversees, by email."""
    rows = _visible(ClientIndex.objects.select_related("workspace"), user, workspace)
    if email:
        rows = rows.filter(email__ilike=email)
    return rows.order_by(Lower("email"), "workspace_id", "client_id")

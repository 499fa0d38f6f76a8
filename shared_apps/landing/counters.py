"""Keeping the home page's public figures right as workspace data changes.

The figures (mailings, mailings sending now, unique recipients) live in public
tables so the home page never scans workspace schemas. They are kept right by
explicit calls from every service that changes what they count, so they are
right on the next page load (the cached public pages follow within
PUBLIC_PAGE_FIGURES_SECONDS, see pagecache.py):

- `mailings_changed()` — a mailing of the current workspace was created,
  deleted, or changed status, pause or manager flag (called by
  `tenant_apps.delivery.services`: the engine's status changes and every
  save or delete of a mailing). The workspace is recounted after commit.
- `recipients_added(emails)` / `recipients_removed(emails)` — clients of the
  current workspace were created (form, import, demo seed), deleted, or
  changed email (`tenant_apps.audience.services`). In the same transaction
  as the change. Unsubscribing changes neither figure: an unsubscribed client
  is still a client.
- `recipients_erased(emails)` — as `recipients_removed`, for a client erased
  on request (`tenant_apps.audience.data_rights`): an email no workspace holds
  any more leaves the public table at once instead of waiting for the repair.

`landing.tasks.refresh_site_stats` recounts everything periodically as a
repair, not as the way the figures get right.
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

from . import pagecache, stats
from .services import forget_active_mailings


def mailings_changed() -> None:
    """Recount the current workspace's mailings after commit and drop the cached active count.

    After commit, so the count sees the change and no other request caches the
    old figure between our invalidation and the commit.
    """
    schema_name = connection.schema_name
    if schema_name == get_public_schema_name():
        return
    workspace_id = getattr(getattr(connection, "tenant", None), "pk", None)

    def recount():
        from tenants.models import Workspace

        pk = workspace_id or Workspace.objects.filter(schema_name=schema_name).values_list("pk", flat=True).first()
        if pk is not None:
            stats.recount_workspace(pk, schema_name)
        forget_active_mailings()
        pagecache.figures_changed()

    transaction.on_commit(recount)


def recipients_added(emails: Iterable[str]) -> None:
    """Clients with these emails now exist in the current workspace (each email new to it)."""
    emails = list(emails)
    if emails:
        stats.add_recipients(emails)
        pagecache.figures_changed()


def recipients_removed(emails: Iterable[str]) -> None:
    """Clients with these emails no longer exist in the current workspace."""
    emails = list(emails)
    if emails:
        stats.remove_recipients(emails)
        pagecache.figures_changed()


def recipients_erased(emails: Iterable[str]) -> None:
    """Clients with these emails were erased from the current workspace: no row keeps an email nobody holds."""
    emails = list(emails)
    if emails:
        stats.remove_recipients(emails)
        stats.forget_recipients(emails)

"""The workspace behind a host, cached (issue 16, item 6, part).

Every request starts with the host → workspace lookup (a join of Domain and
Workspace); on the public pages under a traffic spike that query is paid by
every anonymous visit. The Workspace row is cached per host for
HOST_LOOKUP_CACHE_SECONDS and forgotten whenever a Workspace or Domain row is
saved or deleted (tenants/models.py), at once and again after the commit (a
request reading between the two would otherwise cache the old row). Unknown
hosts are not cached, so a new workspace answers at once.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context

KEY = "tenant-host:{}"


def _key(hostname: str) -> str:
    return KEY.format(hostname.lower())


def workspace_for_host(hostname: str, load: Callable[[], object]):
    """The cached workspace of `hostname`, else `load()` (which raises for an unknown host), cached."""
    if settings.HOST_LOOKUP_CACHE_SECONDS <= 0:
        return load()
    key = _key(hostname)
    workspace = cache.get(key)
    if workspace is None:
        workspace = load()
        cache.set(key, workspace, settings.HOST_LOOKUP_CACHE_SECONDS)
    return workspace


def forget_hosts(hostnames: list[str]) -> None:
    """Drop the cached lookups of these hosts now and once more after the transaction commits."""
    keys = [_key(hostname) for hostname in hostnames]
    if not keys:
        return
    _delete_public(keys)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _delete_public(keys))


def _delete_public(keys: list[str]) -> None:
    # Cache keys carry the current schema (django_tenants.cache.make_key); the lookup is
    # cached while the connection is on the public schema, whatever schema the caller is in.
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        cache.delete_many(keys)


def forget_workspace(workspace) -> None:
    """Forget every host of this workspace (its Domain rows)."""
    if workspace.pk is None:
        return
    forget_hosts(list(workspace.domains.values_list("domain", flat=True)))

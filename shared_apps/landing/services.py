"""The home page's figures: constant work per request whatever the number of workspaces."""

from django.core.cache import cache
from django.db import connection
from django.db.models import Sum

from .cache import public_cache_keys
from .models import SiteStats, WorkspaceStats

ACTIVE_MAILINGS_CACHE_KEY = "landing:active-mailings"
ACTIVE_MAILINGS_CACHE_SECONDS = 10 * 60


def active_mailings_count():
    """Running, not paused, not disabled mailings in every workspace; cached in Redis."""
    with public_cache_keys():
        count = cache.get(ACTIVE_MAILINGS_CACHE_KEY)
        if count is None:
            count = WorkspaceStats.objects.aggregate(n=Sum("mailings_active"))["n"] or 0
            cache.set(ACTIVE_MAILINGS_CACHE_KEY, count, ACTIVE_MAILINGS_CACHE_SECONDS)
    return count


def forget_active_mailings():
    with public_cache_keys():
        cache.delete(ACTIVE_MAILINGS_CACHE_KEY)


def site_counts():
    """Total mailings, active mailings and unique clients for the home page (one query + cache)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT coalesce(sum(mailings_total), 0) FROM {WorkspaceStats._meta.db_table}), "  # noqa: S608
            f"unique_clients, refreshed_at FROM (SELECT 1) AS one "
            f"LEFT JOIN {SiteStats._meta.db_table} ON id = 1"
        )
        mailings_total, unique_clients, refreshed_at = cursor.fetchone()
    return {
        "mailings_total": mailings_total,
        "mailings_active": active_mailings_count(),
        "unique_clients": unique_clients or 0,
        "refreshed_at": refreshed_at,
    }

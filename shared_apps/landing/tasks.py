"""Periodic refresh of the home page's figures (all workspaces, one pass)."""

from django_tenants.utils import get_public_schema_name, schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .pagecache import figures_changed
from .services import forget_active_mailings
from .stats import refresh_all_stats


# A repair, not the way the figures get right (counters.py does that as data
# changes); it locks the recipient counts ~0.8 s per 100,000 clients.
@db_periodic_task(crontab(minute="*/15"))
def refresh_site_stats():
    """Every 15 minutes: recount mailings per workspace and the unique recipients."""
    with schema_context(get_public_schema_name()):
        refresh_all_stats()
        forget_active_mailings()
        figures_changed()

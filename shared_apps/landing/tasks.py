"""Periodic refresh of the home page's figures (all workspaces, one pass)."""

from django_tenants.utils import get_public_schema_name, schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import forget_active_mailings
from .stats import refresh_all_stats


@db_periodic_task(crontab(minute="*/5"))
def refresh_site_stats():
    """Every 5 minutes: recount mailings per workspace and the unique clients."""
    with schema_context(get_public_schema_name()):
        refresh_all_stats()
        forget_active_mailings()

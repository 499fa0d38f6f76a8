"""huey: the periodic drain of the tracking stream into PostgreSQL."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .drain import drain

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
def drain_tracking_hits():
    """Every minute: write the opens and clicks the endpoints queued (safe to overlap with another drain)."""
    written = drain(budget_seconds=50)
    if written:
        log.info("tracking drain wrote %d hits", written)

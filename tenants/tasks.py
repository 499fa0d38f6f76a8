"""huey: keeping the pool of ready workspace schemas filled (tenants/provisioning.py)."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .provisioning import refill_pool

log = logging.getLogger(__name__)


@db_task()
def refill_workspace_pool():
    """After a sign-up took a schema: clone replacements in the background."""
    made = refill_pool()
    if made:
        log.info("workspace pool: %d schemas cloned", made)


@db_periodic_task(crontab(minute="*/5"))
def top_up_workspace_pool():
    """Every five minutes (one COUNT when full): catches a refill lost with a stopped consumer."""
    refill_pool()

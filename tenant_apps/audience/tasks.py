"""Background work for clients: the CSV import and its recovery, and form sign-ups."""

import logging

from django_tenants.utils import get_public_schema_name, schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import recovery, services

log = logging.getLogger(__name__)


@db_task()
def import_clients(schema_name, job_id):
    """Run (or resume) one uploaded import inside its workspace's schema."""
    with schema_context(schema_name):
        job = services.claim_import(job_id)
        if job is not None:  # finished, or another worker has it: nothing to do
            services.run_import(job)


@db_periodic_task(crontab(minute="*/5"))
def resume_stale_imports():
    """Every 5 minutes: queue again the imports whose worker died (one query over every workspace)."""
    with schema_context(get_public_schema_name()):
        stale = recovery.find_stale_imports()
    for schema_name, job_id in stale:
        import_clients(schema_name, job_id)


@db_task(retries=2, retry_delay=10)
def record_signup(schema_name, form_id, signup, visitor):
    """Write a checked form sign-up (subscriptions.submit) in its workspace; the post only queued it."""
    from . import subscriptions
    from .models import SubscriptionForm

    with schema_context(schema_name):
        form = SubscriptionForm.objects.select_related("mailing_list").filter(pk=form_id).first()
        if form is None:  # deleted since the post
            return
        try:
            subscriptions.submit(form, subscriptions.SignUp(**signup), subscriptions.Visitor(**visitor))
        except subscriptions.Refused as refusal:
            # The post found room, the workspace filled up before this ran: the owner is told.
            log.warning("sign-up to form %s in %s not taken: %s", form_id, schema_name, refusal)
            subscriptions.record_dropped_signup(form)

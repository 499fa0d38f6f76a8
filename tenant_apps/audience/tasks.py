"""Background work for clients: the CSV import and its recovery."""

from django_tenants.utils import get_public_schema_name, schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import recovery, services


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

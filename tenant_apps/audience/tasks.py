"""Background work for clients: the CSV import."""

from django_tenants.utils import schema_context
from huey.contrib.djhuey import db_task

from . import services
from .models import ImportJob


@db_task()
def import_clients(schema_name, job_id):
    """Run one uploaded import inside its workspace's schema."""
    with schema_context(schema_name):
        job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).first()
        if job is not None:  # already run (a retried task) or deleted: nothing to do
            services.run_import(job)

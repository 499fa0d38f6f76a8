"""Keep the public schedule index in step with every mailing change.

The signals fire in the mailing's workspace schema (a request on the
workspace host, or code inside schema_context). Saving a mailing whose
window includes now starts its run once the transaction commits, through the
queue: the request never waits on sending.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.models import ScheduleEntry

from . import services
from .scheduling import current_workspace, now


def _in_workspace_schema():
    return connection.schema_name not in (None, "", settings.PUBLIC_SCHEMA_NAME)


@receiver(post_save, sender="campaigns.Mailing", dispatch_uid="delivery.mailing_saved")
def mailing_saved(sender, instance, raw=False, **kwargs):
    if raw or not _in_workspace_schema():
        return
    workspace = current_workspace()
    when = services.sync_schedule(instance, workspace=workspace, resume_now=True)
    if when is not None and when <= now():
        from .tasks import run_due_mailing

        schema_name, mailing_id = connection.schema_name, instance.pk
        transaction.on_commit(lambda: run_due_mailing(schema_name, mailing_id))


@receiver(post_delete, sender="campaigns.Mailing", dispatch_uid="delivery.mailing_deleted")
def mailing_deleted(sender, instance, **kwargs):
    if not _in_workspace_schema():
        return
    ScheduleEntry.objects.filter(workspace_id=current_workspace().pk, mailing_id=instance.pk).delete()

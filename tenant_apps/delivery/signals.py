"""Keep the public schedule index in step with every mailing change.

The signals fire in the mailing's workspace schema (a request on the
workspace host, or code inside schema_context). Saving a mailing whose
window includes now starts its run once the transaction commits, through the
queue: the request never waits on sending.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from tenants.models import ScheduleEntry

from . import engine, services
from .models import Run
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


@receiver(m2m_changed, dispatch_uid="delivery.mailing_clients_changed")
def mailing_clients_changed(sender, instance, action, reverse, **kwargs):
    """Clients added to a mailing's chosen audience join its current run.

    A form saves the chosen clients after the mailing itself; outside a
    transaction the run may already have started (or even finished, empty)
    by then, so the new clients are added to it and it is resumed.
    """
    from tenant_apps.campaigns.models import Mailing

    if action != "post_add" or reverse or not isinstance(instance, Mailing) or not _in_workspace_schema():
        return
    if sender is not Mailing.clients.through or instance.audience != Mailing.Audience.SELECTED:
        return
    moment = now()
    current = Run.objects.filter(mailing=instance, deadline__gt=moment).filter(
        Q(status__in=services.UNFINISHED) | Q(status=Run.Status.DONE, deliveries__isnull=True)
    )
    resumed = False
    for run in current.distinct():
        if engine.create_deliveries(run, instance) and run.status == Run.Status.DONE:
            Run.objects.filter(pk=run.pk).update(status=Run.Status.SENDING, finished_at=None)
            resumed = True
    if resumed:
        mailing_saved(sender=Mailing, instance=instance)

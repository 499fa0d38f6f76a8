"""Keeping the schedule index in step with mailings, starting runs, the tick's query.

Functions taking a mailing run inside its workspace schema; `claim_due_entries`
runs in the public schema.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django_tenants.utils import schema_context

from shared_apps.landing import counters
from tenant_apps.campaigns.models import Mailing
from tenants.models import ScheduleEntry

from . import engine
from .models import Run
from .scheduling import current_workspace, due_occurrence, next_due_time, now, occurrences_of, run_deadline, zone

UNFINISHED = [Run.Status.PENDING, Run.Status.SENDING]


def derive_status(has_runs, has_unfinished, remaining):
    """created until the first run; running while a run is unfinished or occurrences remain; then completed."""
    if has_unfinished or (has_runs and remaining):
        return Mailing.Status.RUNNING
    if remaining:
        return Mailing.Status.CREATED
    return Mailing.Status.COMPLETED


def sync_schedule(mailing, *, workspace=None, resume_now=False, moment=None):
    """Write the mailing's next wake-up into the public index (or remove it) and settle its status.

    The entry is the next occurrence, or sooner when a run is unfinished (so a
    run whose worker died is picked up again by the tick). Paused and disabled
    mailings have no entry; saving them re-enabled brings it back. Returns the
    entry's time, or None.
    """
    workspace = workspace or current_workspace()
    moment = moment or now()
    occ = occurrences_of(mailing, zone(workspace.time_zone))
    runs = Run.objects.filter(mailing_id=mailing.pk)
    last_run_at = runs.aggregate(last=Max("scheduled_for"))["last"]
    unfinished = runs.filter(status__in=UNFINISHED).exists()
    upcoming = next_due_time(occ, moment, last_run_at)

    when = upcoming
    if unfinished:
        check = moment if resume_now else moment + timedelta(seconds=settings.DELIVERY_WATCHDOG_SECONDS)
        when = min(when, check) if when else check
    if mailing.is_halted:
        when = None

    if when is None:
        ScheduleEntry.objects.filter(workspace_id=workspace.pk, mailing_id=mailing.pk).delete()
    else:
        ScheduleEntry.objects.update_or_create(
            workspace_id=workspace.pk, mailing_id=mailing.pk, defaults={"next_run_at": when}
        )
    status = derive_status(last_run_at is not None, unfinished, upcoming is not None)
    if status != mailing.status:
        Mailing.objects.filter(pk=mailing.pk).update(status=status)  # update(): no post_save loop
        mailing.status = status
        counters.mailings_changed()
    return when


def start_run(mailing, scheduled_for, occ, moment):
    """The run of one occurrence with its deliveries; safe when two workers start it at once."""
    with transaction.atomic():
        run, created = Run.objects.get_or_create(
            mailing=mailing,
            scheduled_for=scheduled_for,
            defaults={
                "status": Run.Status.SENDING,
                "started_at": moment,
                "deadline": run_deadline(occ, scheduled_for),
            },
        )
        if created:
            engine.create_deliveries(run, mailing)
    return run


def prepare_due_runs(mailing, *, workspace=None, moment=None):
    """Start the due occurrence's run (if any) and return every run of the mailing still to send.

    Only the latest missed occurrence is started (see scheduling.py). Runs
    whose deadline passed are closed on the way.
    """
    workspace = workspace or current_workspace()
    moment = moment or now()
    if mailing.is_halted:
        sync_schedule(mailing, workspace=workspace, moment=moment)
        return []
    occ = occurrences_of(mailing, zone(workspace.time_zone))
    last_run_at = Run.objects.filter(mailing_id=mailing.pk).aggregate(last=Max("scheduled_for"))["last"]
    due = due_occurrence(occ, moment, last_run_at)
    if due is not None:
        start_run(mailing, due, occ, moment)
    runs = list(Run.objects.filter(mailing_id=mailing.pk, status__in=UNFINISHED).order_by("scheduled_for"))
    for run in runs:
        if run.status == Run.Status.PENDING:
            Run.objects.filter(pk=run.pk).update(status=Run.Status.SENDING, started_at=moment)
            run.status = Run.Status.SENDING
    for run in [r for r in runs if r.deadline <= moment]:
        engine.expire_run(run, moment)
        engine.finish_run_if_complete(run, moment)
    sync_schedule(mailing, workspace=workspace, moment=moment)
    return [r for r in runs if r.deadline > moment]


def after_run(run, *, workspace=None):
    """Settle the mailing's status and schedule once a run's worker stops."""
    mailing = Mailing.objects.filter(pk=run.mailing_id).first()
    if mailing is not None:
        sync_schedule(mailing, workspace=workspace)


# --- the tick (public schema) ---------------------------------------------------------------

CLAIM_DUE_SQL = """
UPDATE tenants_scheduleentry s SET next_run_at = %(lease)s
FROM tenants_workspace w
WHERE w.id = s.workspace_id AND w.is_active AND s.next_run_at <= %(now)s
RETURNING w.schema_name, s.mailing_id
"""


def claim_due_entries(moment=None):
    """Every (schema, mailing id) due now across all workspaces, in one statement.

    Each entry is leased (pushed DELIVERY_WATCHDOG_SECONDS ahead) so the next
    tick does not hand it out again; the task that handles it writes the real
    next time, and if that task is lost the lease runs out and the tick retries.
    """
    moment = moment or now()
    lease = moment + timedelta(seconds=settings.DELIVERY_WATCHDOG_SECONDS)
    with schema_context(settings.PUBLIC_SCHEMA_NAME), connection.cursor() as cursor:
        cursor.execute(CLAIM_DUE_SQL, {"now": moment, "lease": lease})
        return sorted(cursor.fetchall())

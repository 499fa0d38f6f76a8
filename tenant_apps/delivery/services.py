"""The hand-off from mailings to sending, the schedule index, starting runs, the tick's query.

Saving a mailing reaches its first SMTP command through explicit calls only:

    campaigns.services.save_mailing (or pause/resume, the console's disable)
      -> mailing_changed(mailing)              here: schedule entry, status, counters
         -> on commit: tasks.run_due_mailing    when due now (else the minute tick finds it)
            -> prepare_due_runs -> start_run -> engine.create_deliveries
            -> tasks.send_run -> engine.process_run -> engine.send_batch -> smtp.SmtpSender.send

Functions taking a mailing run inside its workspace schema; `claim_due_entries`
runs in the public schema.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
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
        Mailing.objects.filter(pk=mailing.pk).update(status=status)  # this column only: a form may be saving the others
        mailing.status = status
        counters.mailings_changed()
    return when


def mailing_changed(mailing: Mailing) -> None:
    """Hand a created or changed mailing to the engine and the home page's counters.

    Every service that saves a mailing calls this afterwards, in the mailing's
    workspace schema and in the same transaction, after the chosen clients
    are saved too: the form, pause and resume, a manager's disable/enable.
    It adds newly chosen clients to a run already under way, rewrites the
    schedule entry and settles the status, and when the mailing is due now
    queues its run once the transaction commits (the request never waits
    on sending; a future start is left to the minute tick).
    """
    workspace = current_workspace()
    if mailing.audience == Mailing.Audience.SELECTED:
        add_chosen_clients_to_current_runs(mailing)
    when = sync_schedule(mailing, workspace=workspace, resume_now=True)
    counters.mailings_changed()
    if when is not None and when <= now():
        from .tasks import run_due_mailing

        schema_name, mailing_id = connection.schema_name, mailing.pk
        transaction.on_commit(lambda: run_due_mailing(schema_name, mailing_id))


def mailing_deleted(mailing_id: int) -> None:
    """A mailing of the current workspace was deleted: drop its schedule entry and recount."""
    ScheduleEntry.objects.filter(workspace_id=current_workspace().pk, mailing_id=mailing_id).delete()
    counters.mailings_changed()


def add_chosen_clients_to_current_runs(mailing: Mailing) -> None:
    """Clients chosen after a run started join it; a run that finished empty is opened again.

    Safe to repeat: a client already in the run keeps its delivery.
    """
    moment = now()
    current = Run.objects.filter(mailing=mailing, deadline__gt=moment).filter(
        Q(status__in=UNFINISHED) | Q(status=Run.Status.DONE, deliveries__isnull=True)
    )
    for run in current.distinct():
        if engine.create_deliveries(run, mailing) and run.status == Run.Status.DONE:
            Run.objects.filter(pk=run.pk).update(status=Run.Status.SENDING, finished_at=None)


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
    """Settle the mailing's status and schedule once a run's worker stops (a system mailing has neither)."""
    mailing = Mailing.objects.filter(pk=run.mailing_id, transactional_stream__isnull=True).first()
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

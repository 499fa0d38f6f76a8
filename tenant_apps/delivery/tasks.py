"""huey tasks: the minute tick, starting a mailing's runs, and the send workers.

Every task enters its workspace schema explicitly (schema_context): the
connection's schema is left over from whatever ran before in this thread.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from tenant_apps.campaigns.models import Mailing
from tenant_apps.senders import consumer as fair_consumer  # noqa: I001
from tenant_apps.senders import fairness

from . import engine, services
from .models import Run
from .scheduling import current_workspace

log = logging.getLogger(__name__)

# A send task hands over to a fresh one after this long, so one huge run does
# not pin a consumer thread and a redeploy never waits long.
TASK_BUDGET_SECONDS = 300


@db_periodic_task(crontab(minute="*"))
def tick():
    """Every minute: start what is due in every workspace (one query, whatever their number)."""
    for schema_name, mailing_id in services.claim_due_entries():
        run_due_mailing(schema_name, mailing_id)


@db_task(retries=3, retry_delay=30)
def run_due_mailing(schema_name, mailing_id):
    """Start the mailing's due run and put send workers on every unfinished run (the watchdog, too)."""
    with schema_context(schema_name):
        mailing = Mailing.objects.select_related("message").filter(pk=mailing_id).first()
        if mailing is None:
            from tenants.models import ScheduleEntry

            ScheduleEntry.objects.filter(workspace__schema_name=schema_name, mailing_id=mailing_id).delete()
            return
        runs = services.prepare_due_runs(mailing)
        for run in runs:  # busy consumers take it up at their next batch (fair sharing between workspaces)
            fair_consumer.register_run(schema_name, run.pk)
        staffing = [(run.pk, *engine.claim_holders(run, timezone.now())) for run in runs]
    for run_id, live, expiry in staffing:
        add_workers(schema_name, run_id, live, expiry)


def add_workers(schema_name, run_id, live, expiry):
    """Bring the run up to DELIVERY_WORKERS_PER_RUN workers, counting those whose claims are live.

    When it is fully staffed, look again when the oldest live claim would
    expire: if its holder died meanwhile, the run is picked up then, not at
    some later tick. Live holders keep renewing theirs, so that look finds them.
    """
    missing = max(settings.DELIVERY_WORKERS_PER_RUN, 1) - live
    for _ in range(missing):
        send_run(schema_name, run_id)
    if missing <= 0 and expiry is not None:
        look_again(schema_name, run_id, expiry)


def look_again(schema_name, run_id, when):
    """Schedule one look at the run at `when` (at most one pending per run)."""
    wait = (when - timezone.now()).total_seconds()
    with schema_context(schema_name):  # cache keys carry the schema: the same one wherever this is called
        first = cache.add(watch_key(run_id), 1, timeout=max(int(wait) + 5, 5))
    if first:
        resume_run.schedule((schema_name, run_id), eta=when)


def watch_key(run_id):
    return f"delivery:watch:{run_id}"


@db_task(retries=3, retry_delay=30)
def send_run(schema_name, run_id):
    """One worker on one run: send until done, then come back when retries fall due.

    With Redis, the worker serves every registered run by weighted round robin
    instead (tenant_apps/senders/consumer.py), starting with this one.
    """
    if fairness.enabled():
        budget = TASK_BUDGET_SECONDS
        if fair_consumer.serve(schema_name, run_id, budget=budget, on_waiting=schedule_wake, on_busy=look_again):
            send_run(schema_name, run_id)
        return
    with schema_context(schema_name):
        run = Run.objects.select_related("mailing__message").filter(pk=run_id).first()
        if run is None:
            return
        workspace = current_workspace()
        progress = engine.process_run(run, workspace, budget=TASK_BUDGET_SECONDS)
        log.info("run %s in %s: %s, %s", run_id, schema_name, progress.state, progress.summary)
        if progress.state in ("done", "paused"):
            services.after_run(run, workspace=workspace)
    if progress.state == "budget":
        send_run(schema_name, run_id)
    elif progress.state == "busy" and progress.wake_at is not None:
        # Others hold the rest; should one of them be dead, its claims expire at wake_at.
        look_again(schema_name, run_id, progress.wake_at)
    elif progress.state == "waiting":
        schedule_wake(schema_name, run_id, progress.wake_at)


def schedule_wake(schema_name, run_id, wake_at):
    """Every worker of the run reaches this point; one wake-up per time is enough."""
    if wake_at is None:
        return
    wake_key = f"delivery:wake:{schema_name}:{run_id}:{int(wake_at.timestamp())}"
    if cache.add(wake_key, 1, timeout=int(settings.DELIVERY_RETRY_MAX_DELAY + 3600)):
        resume_run.schedule((schema_name, run_id), eta=wake_at)


@db_task()
def resume_run(schema_name, run_id):
    """Put the run's workers back on it: its retries fell due, the breaker lets them, or claims expired."""
    with schema_context(schema_name):
        cache.delete(watch_key(run_id))  # this is the look: the next one may be scheduled
        run = Run.objects.filter(pk=run_id).first()
        if run is None:
            return
        live, expiry = engine.claim_holders(run, timezone.now())
    add_workers(schema_name, run_id, live, expiry)


@db_task(retries=3, retry_delay=30)
def send_transactional_run(schema_name, run_id):
    """Send a transactional stream's pending messages (transactional.py); come back for its retries.

    Not through the fair consumer: these are few, and someone is waiting for them (a confirmation link).
    """
    from . import transactional

    with schema_context(schema_name):
        cache.delete(transactional.queued_key(schema_name, run_id))  # from here on, new messages queue a new task
        run = transactional.reopen_stream_run(run_id)
        if run is None:
            return
        progress = engine.process_run(run, current_workspace(), budget=TASK_BUDGET_SECONDS)
        log.info("transactional run %s in %s: %s, %s", run_id, schema_name, progress.state, progress.summary)
    if progress.state == "budget":
        send_transactional_run(schema_name, run_id)
    elif progress.state in ("waiting", "busy") and progress.wake_at is not None:
        wake_key = f"delivery:transactional:wake:{schema_name}:{run_id}:{int(progress.wake_at.timestamp())}"
        if cache.add(wake_key, 1, timeout=int(settings.DELIVERY_RETRY_MAX_DELAY + 3600)):
            send_transactional_run.schedule((schema_name, run_id), eta=progress.wake_at)

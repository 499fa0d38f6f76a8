"""huey tasks: the minute tick, starting a mailing's runs, and the send workers.

Every task enters its workspace schema explicitly (schema_context): the
connection's schema is left over from whatever ran before in this thread.
"""

import logging

from django.conf import settings
from django.core.cache import cache
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
    """Start the mailing's due run and put send workers on every unfinished run."""
    with schema_context(schema_name):
        mailing = Mailing.objects.select_related("message").filter(pk=mailing_id).first()
        if mailing is None:
            from tenants.models import ScheduleEntry

            ScheduleEntry.objects.filter(workspace__schema_name=schema_name, mailing_id=mailing_id).delete()
            return
        runs = services.prepare_due_runs(mailing)
        for run in runs:  # busy consumers take it up at their next batch (fair sharing between workspaces)
            fair_consumer.register_run(schema_name, run.pk)
    for run in runs:
        for _ in range(max(settings.DELIVERY_WORKERS_PER_RUN, 1)):
            send_run(schema_name, run.pk)


@db_task(retries=3, retry_delay=30)
def send_run(schema_name, run_id):
    """One worker on one run: send until done, then come back when retries fall due.

    With Redis, the worker serves every registered run by weighted round robin
    instead (tenant_apps/senders/consumer.py), starting with this one.
    """
    if fairness.enabled():
        if fair_consumer.serve(schema_name, run_id, budget=TASK_BUDGET_SECONDS, on_waiting=schedule_wake):
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
    """Put the run's workers back on it when its retries fall due or the breaker lets them."""
    for _ in range(max(settings.DELIVERY_WORKERS_PER_RUN, 1)):
        send_run(schema_name, run_id)
    # "busy": the workers holding the rest finish the run; a dead one is
    # found again by the watchdog entry in the schedule index.

"""Noticing dead workers: who puts workers on a run, and when a run held by others is looked at again."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Delivery
from tenant_apps.delivery.tasks import resume_run, run_due_mailing, send_run


@pytest.fixture
def queued():
    """Tasks go to Redis instead of running inline (scheduled ones too, with their eta); yields HUEY."""
    HUEY.flush()
    HUEY.immediate = False
    yield HUEY
    HUEY.flush()
    HUEY.immediate = True


def names(tasks):
    return sorted(task.name.rsplit(".", 1)[-1] for task in tasks)


def test_the_watchdog_adds_only_the_workers_a_run_is_missing(
    in_workspace, engine_settings, smtp_server, make_mailing, queued
):
    engine_settings(smtp_server.port).DELIVERY_WORKERS_PER_RUN = 2
    mailing = make_mailing(6)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.claim_batch(run, "live-worker", 2, timezone.now())

    run_due_mailing.call_local(in_workspace.schema_name, mailing.pk)
    assert names(queued.pending()) == ["send_run"], "one worker is live: one more"

    queued.flush()
    engine.claim_batch(run, "second-live-worker", 2, timezone.now())
    run_due_mailing.call_local(in_workspace.schema_name, mailing.pk)
    (look,) = queued.pending()
    assert look.name.endswith("resume_run") and look.eta, "fully staffed: nobody is added, a look is scheduled"


def test_a_stale_claim_does_not_count_as_a_live_worker(
    in_workspace, engine_settings, smtp_server, make_mailing, queued
):
    engine_settings(smtp_server.port).DELIVERY_WORKERS_PER_RUN = 2
    mailing = make_mailing(4)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.claim_batch(run, "dead-worker", 2, timezone.now() - dt.timedelta(minutes=5))

    run_due_mailing.call_local(in_workspace.schema_name, mailing.pk)

    assert names(queued.pending()) == ["send_run", "send_run"]


def test_a_worker_that_finds_the_rest_claimed_looks_again_when_the_claims_expire_and_takes_a_dead_ones(
    in_workspace, engine_settings, smtp_server, make_mailing, queued
):
    settings = engine_settings(smtp_server.port)
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
    engine.claim_batch(run, "dead-worker", 3, timezone.now())  # killed right after claiming
    claimed_at = Delivery.objects.filter(run=run).first().claimed_at
    expiry = claimed_at + dt.timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT)

    send_run.call_local(in_workspace.schema_name, run.pk)  # finds the run "busy"

    (look,) = queued.pending()  # huey enqueues a task with an eta; the consumer holds it until then
    assert look.name.endswith("resume_run") and look.args == (in_workspace.schema_name, run.pk)
    assert abs(look.eta.replace(tzinfo=dt.UTC) - expiry) < dt.timedelta(seconds=1)

    queued.immediate = True
    with time_machine.travel(expiry + dt.timedelta(seconds=1)):
        resume_run.call_local(in_workspace.schema_name, run.pk)

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients)
    assert set(Delivery.objects.filter(run=run).values_list("status", flat=True)) == {"sent"}

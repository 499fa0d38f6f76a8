"""The fair send loop of a huey send task: serve every registered run, one batch at a time, by WRR.

A send task registers its run (fairness.register), then asks fairness.pick()
before every batch which run to serve, so capacity is shared between
workspaces by weight instead of each task staying on one run until it ends.
A run leaves the rotation when it is done, paused, stopped at the quota or
waiting for retries (a resume task is scheduled, as before) or when its rest
is claimed by other workers ("busy": each holder puts it back after its batch).
"""

import logging
import time

from django_tenants.utils import schema_context

from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Run
from tenant_apps.delivery.scheduling import current_workspace
from tenants.models import Workspace

from . import fairness

log = logging.getLogger(__name__)


def register_run(schema_name: str, run_id: int, weight: int | None = None) -> None:
    if weight is None:
        with schema_context(schema_name):
            weight = current_workspace().plan_weight
    fairness.register(schema_name, run_id, weight)


def serve_one_batch(schema_name: str, run_id: int):
    """One batch of one run; returns (state, progress, workspace, run)."""
    workspace = Workspace.objects.filter(schema_name=schema_name).first()
    if workspace is None:  # deleted while its run was registered
        return "gone", None, None, None
    with schema_context(schema_name):
        run = Run.objects.select_related("mailing__message").filter(pk=run_id).first()
        if run is None:
            return "gone", None, None, None
        progress = engine.process_run(run, workspace, batches=1)
        if progress.state in ("done", "paused"):
            services.after_run(run, workspace=workspace)
        return progress.state, progress, workspace, run


def serve(schema_name: str, run_id: int, *, budget: float, on_waiting, on_busy) -> bool:
    """Serve registered runs until none is left or the budget is spent; True when the budget ran out.

    After each batch the run goes back into the rotation (or leaves it: done,
    paused, stopped at the quota; waiting → `on_waiting(schema, run, wake_at)`
    schedules its wake-up; busy, i.e. the rest is claimed by other workers →
    `on_busy(schema, run, claims_expire_at)`: the holders put it back after
    their batch, and a dead holder's claims are looked at when they expire).
    """
    register_run(schema_name, run_id)
    started = time.monotonic()
    while time.monotonic() - started < budget:
        picked = fairness.pick()
        if picked is None:
            return False
        schema, rid = picked
        try:
            state, progress, workspace, _run = serve_one_batch(schema, rid)
        except Exception:
            # One broken run (its workspace deleted, a bug) must not stop the others: it leaves the
            # rotation; the tick's watchdog brings a live one back.
            log.exception("serving run %s in %s failed; it leaves the rotation", rid, schema)
            fairness.unregister(schema, rid)
            if (schema, rid) == (schema_name, run_id):
                raise  # the task's own run: let huey retry it as before
            continue
        if state == "budget":  # it sent a batch: back into the rotation (a busy look may have taken it out)
            fairness.register(schema, rid, workspace.plan_weight)
            continue
        fairness.unregister(schema, rid)
        if state == "waiting":
            on_waiting(schema, rid, progress.wake_at)
        elif state == "busy" and progress.wake_at is not None:
            on_busy(schema, rid, progress.wake_at)
    return True

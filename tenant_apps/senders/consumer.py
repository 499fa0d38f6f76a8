"""The fair send loop of a huey send task: serve every registered run, one batch at a time, by WRR.

A send task registers its run (fairness.register), then asks fairness.pick()
before every batch which run to serve, so capacity is shared between
workspaces by weight instead of each task staying on one run until it ends.
A run leaves the rotation when it is done, paused, stopped at the quota or
waiting for retries (a resume task is scheduled, as before); a run whose rest
is claimed by other workers ("busy") stays, because the holder finishes it.
"""

import logging
import time

from django_tenants.utils import schema_context

from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Run
from tenant_apps.delivery.scheduling import current_workspace

from . import fairness

log = logging.getLogger(__name__)

IDLE_PAUSE = 0.2  # seconds, when every registered run was busy in a row


def register_run(schema_name: str, run_id: int, weight: int | None = None) -> None:
    if weight is None:
        with schema_context(schema_name):
            weight = current_workspace().plan_weight
    fairness.register(schema_name, run_id, weight)


def serve_one_batch(schema_name: str, run_id: int):
    """One batch of one run; returns (state, progress, workspace, run)."""
    with schema_context(schema_name):
        run = Run.objects.select_related("mailing__message").filter(pk=run_id).first()
        if run is None:
            return "gone", None, None, None
        workspace = current_workspace()
        progress = engine.process_run(run, workspace, budget=0)
        if progress.state in ("done", "paused"):
            services.after_run(run, workspace=workspace)
        return progress.state, progress, workspace, run


def serve(schema_name: str, run_id: int, *, budget: float, on_waiting) -> bool:
    """Serve registered runs until none is left or the budget is spent; True when the budget ran out."""
    register_run(schema_name, run_id)
    started, idle = time.monotonic(), 0
    while time.monotonic() - started < budget:
        picked = fairness.pick()
        if picked is None:
            return False
        schema, rid = picked
        state, progress, _workspace, _run = serve_one_batch(schema, rid)
        if state in ("done", "paused", "quota", "gone"):
            fairness.unregister(schema, rid)
        elif state == "waiting":
            fairness.unregister(schema, rid)
            on_waiting(schema, rid, progress.wake_at)
        if state == "busy" or (progress is not None and progress.summary.handled == 0 and state == "budget"):
            idle += 1
            if idle > 2 * max(fairness.registered_count(), 1):
                time.sleep(IDLE_PAUSE)
                idle = 0
        else:
            idle = 0
    return True

"""The console index's periodic repair: every workspace, a batch of workspaces per task."""

from django_tenants.utils import get_public_schema_name, schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from tenants.crossschema import chunked, workspace_schemas
from tenants.models import Workspace

from .index import repair_workspace

WORKSPACES_PER_TASK = 500


def repair_all(workspace_ids=None) -> dict:
    """Repair the index of these workspaces (default: every one whose schema exists); totals."""
    totals = {"workspaces": 0, "mailings": 0, "clients": 0, "removed": 0}
    with schema_context(get_public_schema_name()):
        ids = [pk for pk, _ in workspace_schemas()] if workspace_ids is None else list(workspace_ids)
        for workspace in Workspace.objects.filter(pk__in=ids).order_by("pk"):
            for key, value in repair_workspace(workspace).items():
                totals[key] += value
            totals["workspaces"] += 1
    return totals


# A safety net, not the way the index gets right (index.py's calls do that as data changes).
@db_periodic_task(crontab(minute="23", hour="*/6"))
def repair_console_index():
    """Every six hours: queue the repair of every workspace, WORKSPACES_PER_TASK per task."""
    with schema_context(get_public_schema_name()):
        ids = [pk for pk, _ in workspace_schemas()]
    for chunk in chunked(ids, WORKSPACES_PER_TASK):
        repair_console_index_batch(list(chunk))


@db_task()
def repair_console_index_batch(workspace_ids):
    repair_all(workspace_ids)

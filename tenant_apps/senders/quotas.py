"""Workspace quotas: messages per calendar month (UTC) and clients at most.

Limits come from the Workspace row (set by managers in the console) or, when
empty there, the platform defaults QUOTA_MESSAGES_PER_MONTH and
QUOTA_CLIENTS_MAX (0 = unlimited). Messages are *reserved* per batch before
it is claimed, by one statement on the public MonthlyUsage row, so any number
of consumers together never pass the limit; what a batch did not send is
given back. A run that finds nothing left to reserve stops in the state
"quota" and the owner gets an email (once per month).
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from saas.mail import queue_email
from tenants.models import MonthlyUsage, Workspace


def current_month(now=None) -> date:
    now = now or timezone.now()
    return date(now.year, now.month, 1)


def message_limit(workspace: Workspace) -> int:
    """Messages per month; 0 = unlimited."""
    if workspace.messages_per_month is not None:
        return workspace.messages_per_month
    return settings.QUOTA_MESSAGES_PER_MONTH


def client_limit(workspace: Workspace) -> int:
    if workspace.clients_max is not None:
        return workspace.clients_max
    return settings.QUOTA_CLIENTS_MAX


def workspace_here() -> Workspace:
    """The Workspace row of the schema the connection is in (tasks have only a schema name)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Workspace):
        return tenant
    return Workspace.objects.get(schema_name=connection.schema_name)


# The row is created on first use; the UPDATE locks it, so concurrent reservations queue up and
# each sees the previous one's result: together they never pass the limit.
RESERVE_SQL = """
UPDATE tenants_monthlyusage u SET messages = LEAST(u.messages + %(n)s, GREATEST(%(limit)s, u.messages))
FROM (SELECT id, messages AS before FROM tenants_monthlyusage
      WHERE workspace_id = %(ws)s AND month = %(month)s FOR UPDATE) old
WHERE u.id = old.id
RETURNING u.messages - old.before
"""


def reserve(workspace: Workspace, n: int, now=None) -> int:
    """Reserve up to n messages of this month's quota; returns how many may be sent (n when unlimited)."""
    limit = message_limit(workspace)
    if not limit or n <= 0:
        return n
    month = current_month(now)
    MonthlyUsage.objects.get_or_create(workspace_id=workspace.pk, month=month)
    with connection.cursor() as cursor:
        cursor.execute(RESERVE_SQL, {"n": n, "limit": limit, "ws": workspace.pk, "month": month})
        row = cursor.fetchone()
    return row[0] if row else 0


def release(workspace: Workspace, n: int, now=None) -> None:
    """Give back reserved messages that were not sent."""
    if n <= 0 or not message_limit(workspace):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tenants_monthlyusage SET messages = GREATEST(messages - %s, 0)"
            " WHERE workspace_id = %s AND month = %s",
            [n, workspace.pk, current_month(now)],
        )


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int  # 0 = unlimited

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.limit)) if self.limit else 0


def message_usage(workspace: Workspace) -> Usage:
    row = MonthlyUsage.objects.filter(workspace_id=workspace.pk, month=current_month()).first()
    return Usage(row.messages if row else 0, message_limit(workspace))


def client_usage(workspace: Workspace) -> Usage:
    from tenant_apps.audience.models import Client

    return Usage(Client.objects.count(), client_limit(workspace))


def client_room(workspace: Workspace) -> int | None:
    """How many more clients the workspace may have; None when unlimited."""
    usage = client_usage(workspace)
    return max(usage.limit - usage.used, 0) if usage.limit else None


def notify_quota_reached(workspace: Workspace, mailing_name: str) -> bool:
    """Email the owner that sending stopped at the month's quota (once per workspace and month)."""
    owner = workspace.owner
    key = f"senders:quota-mail:{workspace.pk}:{current_month():%Y-%m}"
    if owner is None or not cache.add(key, 1, timeout=40 * 24 * 3600):
        return False
    with override(getattr(owner, "language", None) or settings.LANGUAGE_CODE):
        subject = _("Rassylka: %(workspace)s reached its monthly sending quota") % {"workspace": workspace.name}
        body = _(
            "Sending of the mailing “%(mailing)s” stopped: the workspace %(workspace)s has sent its %(limit)s "
            "messages for this month. The remaining recipients stay queued; ask a manager to raise the quota "
            "or wait for next month."
        ) % {"mailing": mailing_name, "workspace": workspace.name, "limit": message_limit(workspace)}
    queue_email(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email]))
    return True


def stop_run_at_quota(run, workspace: Workspace) -> bool:
    """The month's quota is used up: the run stops in the "quota" state; the owner is told once a month."""
    from tenant_apps.delivery.models import Run

    stopped = Run.objects.filter(pk=run.pk, status=Run.Status.SENDING).update(status=Run.Status.QUOTA)
    if stopped:
        notify_quota_reached(workspace, run.mailing.name)
    return bool(stopped)


def resume_runs_stopped_by_quota(workspace: Workspace) -> int:
    """Put runs stopped at the quota back to sending when there is room (a manager raised the limit)."""
    from django_tenants.utils import schema_context

    from tenant_apps.delivery.models import Run
    from tenant_apps.delivery.tasks import send_run

    limit = message_limit(workspace)
    if limit and message_usage(workspace).used >= limit:
        return 0
    with schema_context(workspace.schema_name):
        run_ids = list(Run.objects.filter(status=Run.Status.QUOTA).values_list("pk", flat=True))
        Run.objects.filter(pk__in=run_ids).update(status=Run.Status.SENDING)
    schema = workspace.schema_name
    for run_id in run_ids:
        transaction.on_commit(lambda run_id=run_id: send_run(schema, run_id))
    return len(run_ids)

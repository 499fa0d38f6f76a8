"""When a mailing's occurrences fall, and the public schedule index that the tick reads.

Occurrences are computed in the workspace's time zone on the wall clock: a
daily mailing at 09:00 stays at 09:00 across DST changes, and a monthly one
anchored on the 31st runs on the last day of shorter months and on the 31st
again when the month has one (k months after the start, never "one month
after the previous run"). A wall time that does not exist (the spring-forward
gap) resolves as zoneinfo does with fold=0, i.e. one hour later.

Catch-up policy: when occurrences were missed (the consumer was down), only
the latest one still inside the mailing's window is sent; recipients get one
up-to-date copy, not a burst of stale ones.
"""

import calendar
import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.utils import timezone

UTC = dt.UTC
ONCE, DAILY, WEEKLY, MONTHLY = "once", "daily", "weekly", "monthly"


def zone(name):
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


class Occurrences:
    """The occurrences of one schedule: start, periodicity, end (exclusive), time zone."""

    def __init__(self, start_at, end_at, periodicity, tz):
        self.tz = tz
        self.start_local = start_at.astimezone(tz).replace(tzinfo=None)
        self.end_at = end_at
        self.periodicity = periodicity

    def at(self, k):
        """The k-th occurrence (k ≥ 0) as an aware UTC datetime."""
        start = self.start_local
        if self.periodicity == DAILY:
            local = start + dt.timedelta(days=k)
        elif self.periodicity == WEEKLY:
            local = start + dt.timedelta(weeks=k)
        elif self.periodicity == MONTHLY:
            year, month0 = divmod(start.month - 1 + k, 12)
            year += start.year
            day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
            local = start.replace(year=year, month=month0 + 1, day=day)
        elif k == 0:
            local = start
        else:
            raise IndexError("a one-off mailing has a single occurrence")
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def _estimate(self, moment):
        """An index near the last occurrence at or before `moment` (exact to ±1)."""
        local = moment.astimezone(self.tz).replace(tzinfo=None)
        if self.periodicity == DAILY:
            return (local - self.start_local).days
        if self.periodicity == WEEKLY:
            return (local - self.start_local).days // 7
        if self.periodicity == MONTHLY:
            return (local.year - self.start_local.year) * 12 + local.month - self.start_local.month
        return 0

    def index_at_or_before(self, moment):
        """The index of the last occurrence ≤ moment, or -1 when the first is later."""
        if self.periodicity == ONCE:
            return 0 if self.at(0) <= moment else -1
        k = max(self._estimate(moment), -1)
        while k >= 0 and self.at(k) > moment:
            k -= 1
        while self.at(k + 1) <= moment:
            k += 1
        return k

    def latest_at_or_before(self, moment):
        """The last occurrence ≤ moment that is inside the window (before the end), or None."""
        k = self.index_at_or_before(min(moment, self.end_at - dt.timedelta(microseconds=1)))
        return self.at(k) if k >= 0 else None

    def first_after(self, moment):
        """The first occurrence > moment that is inside the window, or None."""
        k = self.index_at_or_before(moment) + 1
        if self.periodicity == ONCE and k > 0:
            return None
        when = self.at(k)
        return when if when < self.end_at else None


def occurrences_of(mailing, tz):
    return Occurrences(mailing.start_at, mailing.end_at, mailing.periodicity, tz)


def due_occurrence(occ, now, last_run_at):
    """The occurrence to run now: the latest one ≤ now, not yet run, while the window is open."""
    if now >= occ.end_at:
        return None  # nothing is sent after the mailing's end
    when = occ.latest_at_or_before(now)
    if when is None or (last_run_at is not None and when <= last_run_at):
        return None
    return when


def next_due_time(occ, now, last_run_at):
    """When the mailing next needs the scheduler: a due occurrence (≤ now) or the next one, or None."""
    due = due_occurrence(occ, now, last_run_at)
    if due is not None:
        return due
    return occ.first_after(max(now, last_run_at) if last_run_at else now)


def run_deadline(occ, scheduled_for):
    """Retries of one occurrence stop at the mailing's end or when the next occurrence starts."""
    following = occ.first_after(scheduled_for)
    return min(occ.end_at, following) if following else occ.end_at


# --- the workspace behind the current connection ---------------------------------


def current_workspace():
    """The Workspace whose schema the connection is in (schema_context gives only a name)."""
    from tenants.models import Workspace

    tenant = connection.tenant
    if isinstance(tenant, Workspace):
        return tenant
    return Workspace.objects.get(schema_name=connection.schema_name)


def workspace_zone(workspace):
    return zone(getattr(workspace, "time_zone", None))


def now():
    return timezone.now()

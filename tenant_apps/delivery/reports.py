"""Numbers built from the delivery log (run inside a workspace schema).

Every function here reads; none sends or changes anything. Counts come from
the counters the engine keeps (counters.py), never from a COUNT over the
deliveries or the attempt log, so a page costs the same at a thousand
attempts and at a million; charts are by UTC hour underneath (a time zone
with a half-hour offset sees its hours shifted). The attempt log is
paged by a cursor on (time, id) so a page costs the same on the first and
the thousandth page, with no COUNT over the whole log.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

from saas.dates import chart_label_format
from tenant_apps.audience.models import Client

from .counters import hour_of
from .models import Attempt, AttemptsPerHour, Delivery, FinishedPerHour, Run, RunCounter

RECENT_DAYS = 30
BUCKETS = ("hour", "day")
LOG_PAGE_SIZE = 50
# The chart's periods: name → (length, bucket).
CHART_PERIODS = {
    "2d": (timedelta(days=2), "hour"),
    "30d": (timedelta(days=30), "day"),
    "90d": (timedelta(days=90), "day"),
}
DEFAULT_PERIOD = "30d"
# Runs newer than this are shown by hour by default: a 30-day chart would
# squeeze a mailing sent this morning into one bar.
RECENT_PERIOD = "2d"
# Charts aggregate the whole log of the period; a minute-old chart is fine and
# spares the database while someone pages through the attempt log below it.
CHART_CACHE_SECONDS = 60

# A bounced or complained-about delivery was sent first: "sent" counts them too.
SENT_STATES = (Delivery.Status.SENT, Delivery.Status.BOUNCED, Delivery.Status.COMPLAINED)


def _reported(by_status):
    """The reported states from {counter state: n} (RunCounter or FinishedPerHour rows summed)."""
    return {
        "sent": sum(by_status.get(state, 0) for state in SENT_STATES),
        "failed": by_status.get(Delivery.Status.FAILED, 0),
        "pending": by_status.get(Delivery.Status.PENDING, 0),
        "skipped": by_status.get(Delivery.Status.SKIPPED, 0),
        "bounced": by_status.get(Delivery.Status.BOUNCED, 0),
        "complained": by_status.get(Delivery.Status.COMPLAINED, 0),
    }


def _summed(counters):
    return {row["status"]: row["total"] for row in counters.values("status").annotate(total=Sum("n")).order_by()}


def finished_since(since):
    """{state: n} of the deliveries that finished since the start of the (UTC) hour holding `since`."""
    return _summed(FinishedPerHour.objects.filter(hour__gte=hour_of(since)))


def delivery_totals(since):
    """{"sent", "failed", "bounced", "complained"}: deliveries that reached that state since `since`.

    Read from the hourly counters, so "since" starts at the top of its hour.
    """
    totals = _reported(finished_since(since))
    return {state: totals[state] for state in ("sent", "failed", "bounced", "complained")}


def sent_count(*, mailing_id=None, since=None):
    """Deliveries now "sent" (not bounced or complained about): of a mailing, or finished since `since`."""
    if since is not None:
        return finished_since(since).get(Delivery.Status.SENT, 0)
    counters = RunCounter.objects.filter(run__mailing_id=mailing_id, status=Delivery.Status.SENT)
    return counters.aggregate(total=Coalesce(Sum("n"), 0))["total"]


def _counter_sums(prefix=""):
    """Sum() expressions for each reported state, over the RunCounter rows reached by `prefix`."""
    status, n = f"{prefix}status", f"{prefix}n"

    def total(**condition):
        return Coalesce(Sum(n, filter=Q(**condition)), 0)

    return {
        "sent": total(**{f"{status}__in": SENT_STATES}),
        "failed": total(**{status: Delivery.Status.FAILED}),
        "pending": total(**{status: Delivery.Status.PENDING}),  # pending and sending (counters.counted_as)
        "skipped": total(**{status: Delivery.Status.SKIPPED}),
        "bounced": total(**{status: Delivery.Status.BOUNCED}),
        "complained": total(**{status: Delivery.Status.COMPLAINED}),
    }


def workspace_totals(now=None):
    """{"recent": {...}, "all": {...}}: sent, failed, pending, skipped, bounced, complained deliveries.

    "recent" is the last RECENT_DAYS days: sent and failed by when they
    finished (from the top of that hour), pending and skipped by when their
    run was scheduled. Three small queries over the counters.
    """
    since = (now or timezone.now()) - timedelta(days=RECENT_DAYS)
    recent = _reported(finished_since(since))
    by_run = _reported(_summed(RunCounter.objects.filter(run__scheduled_for__gte=since)))
    recent.update(pending=by_run["pending"], skipped=by_run["skipped"])
    return {"all": _reported(_summed(RunCounter.objects.all())), "recent": recent}


def unsubscribe_totals(now=None):
    """{"recent": n, "all": n}: clients unsubscribed now, and those of them who left in the last RECENT_DAYS days."""
    since = (now or timezone.now()) - timedelta(days=RECENT_DAYS)
    return Client.objects.filter(is_subscribed=False).aggregate(
        all=Count("id"), recent=Count("id", filter=Q(unsubscribed_at__gte=since))
    )


def run_counts(mailing):
    """The mailing's runs, newest first, each with .sent .failed .pending .skipped .total.

    A queryset: slicing it (a page) is one aggregate query. "pending"
    includes deliveries a worker is sending right now.
    """
    return (
        Run.objects.filter(mailing=mailing)
        .annotate(total=Coalesce(Sum("counters__n"), 0), **_counter_sums("counters__"))
        .order_by("-scheduled_for", "-id")
    )


def mailing_counts(mailing_ids):
    """{mailing_id: {"runs", "sent", "failed", "pending", "skipped"}} for these mailings, in one query."""
    rows = (
        Run.objects.filter(mailing_id__in=list(mailing_ids))
        .values("mailing_id")
        .annotate(runs=Count("id", distinct=True), **_counter_sums("counters__"))
        .order_by()
    )
    return {row.pop("mailing_id"): row for row in rows}


def latest_run(mailing):
    """The mailing's newest run with .sent .failed .pending .skipped .total, or None.

    Two small queries: the newest run's id, then the counts of that run only
    (not an aggregate over every run of a mailing that runs daily).
    """
    newest = Run.objects.filter(mailing=mailing).order_by("-scheduled_for", "-id").values_list("id", flat=True)[:1]
    return run_counts(mailing).filter(pk__in=list(newest)).first()


# --- chart -----------------------------------------------------------------


def default_period(mailing=None, now=None):
    """The chart period that fits the data: 48 hours by hour when the newest run
    (of `mailing`, or of the workspace) is that recent, else 30 days by day."""
    runs = Run.objects.filter(mailing=mailing) if mailing is not None else Run.objects.all()
    newest = runs.order_by("-scheduled_for").values_list("scheduled_for", flat=True).first()
    recent_since = (now or timezone.now()) - CHART_PERIODS[RECENT_PERIOD][0]
    return RECENT_PERIOD if newest is not None and newest >= recent_since else DEFAULT_PERIOD


def _bucket_starts(since, until, bucket, tz):
    """Every bucket start (aware) from the one holding `since` to the one holding `until`."""
    first, last = since.astimezone(tz), until.astimezone(tz)
    if bucket == "day":
        days = (last.date() - first.date()).days
        return [datetime.combine(first.date() + timedelta(days=n), time(), tzinfo=tz) for n in range(days + 1)]
    # Step in UTC: local hours are one real hour apart even across a DST change.
    start = first.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    starts = []
    while start <= until:
        starts.append(start.astimezone(tz))
        start += timedelta(hours=1)
    return starts


def attempt_series(since, mailing=None, bucket="day", *, until=None, tz=None):
    """Successful and failed attempts per hour or day since `since`, empty buckets included.

    {"buckets": [iso start, ...], "labels": [short text, ...],
     "success": [n, ...], "failure": [n, ...]}, buckets in `tz` (default: the
    current time zone). Only `mailing`'s attempts when given.
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    tz = tz or timezone.get_current_timezone()
    until = until or timezone.now()
    hours = AttemptsPerHour.objects.filter(hour__gte=hour_of(since), hour__lte=until)
    if mailing is not None:
        hours = hours.filter(mailing=mailing)
    rows = (
        hours.annotate(bucket=Trunc("hour", bucket, tzinfo=tz))
        .values("bucket")
        .annotate(
            success=Coalesce(Sum("n", filter=Q(status=Attempt.Status.SUCCESS)), 0),
            failure=Coalesce(Sum("n", filter=Q(status=Attempt.Status.FAILURE)), 0),
        )
        .order_by("bucket")
    )
    counted = {row["bucket"]: row for row in rows}
    feedback = feedback_buckets(since, until, bucket, tz, mailing)
    starts = _bucket_starts(since, until, bucket, tz)
    label_format = chart_label_format(bucket)
    empty = {"success": 0, "failure": 0}
    no_feedback = {"bounced": 0, "complained": 0}
    return {
        "buckets": [start.isoformat() for start in starts],
        "labels": [date_format(start, label_format) for start in starts],
        "success": [counted.get(start, empty)["success"] for start in starts],
        "failure": [counted.get(start, empty)["failure"] for start in starts],
        "bounced": [feedback.get(start, no_feedback)["bounced"] for start in starts],
        "complained": [feedback.get(start, no_feedback)["complained"] for start in starts],
    }


def feedback_buckets(since, until, bucket, tz, mailing=None):
    """{bucket start: {"bounced": n, "complained": n}}: bounces and complaints received per bucket."""
    from tenant_apps.feedback.models import FeedbackEvent

    events = FeedbackEvent.objects.filter(received_at__gte=since, received_at__lte=until)
    if mailing is not None:
        events = events.filter(delivery__run__mailing=mailing)
    rows = (
        events.annotate(bucket=Trunc("received_at", bucket, tzinfo=tz))
        .values("bucket")
        .annotate(
            bounced=Count("id", filter=~Q(kind=FeedbackEvent.Kind.COMPLAINT)),
            complained=Count("id", filter=Q(kind=FeedbackEvent.Kind.COMPLAINT)),
        )
        .order_by("bucket")
    )
    return {row["bucket"]: row for row in rows}


def chart_series(period=DEFAULT_PERIOD, mailing=None, tz=None):
    """attempt_series() over a named period of CHART_PERIODS, cached for a minute.

    The cache key function adds the workspace's schema, so workspaces never
    share a cached chart.
    """
    length, bucket = CHART_PERIODS[period]
    tz = tz or timezone.get_current_timezone()
    # The labels are in the reader's language, so the language is part of the key.
    key = f"delivery:chart:{mailing.pk if mailing else 'all'}:{period}:{tz}:{get_language()}"
    return cache.get_or_set(
        key, lambda: attempt_series(timezone.now() - length, mailing, bucket, tz=tz), CHART_CACHE_SECONDS
    )


# --- attempt log -------------------------------------------------------------


def attempt_log(mailing, *, status=None, run=None):
    """The mailing's attempts, newest first, optionally only one status and one run."""
    attempts = Attempt.objects.filter(delivery__run__mailing=mailing)
    if status:
        attempts = attempts.filter(status=status)
    newest_first = [F("at").desc(), F("id").desc()]
    if run is not None:
        attempts = attempts.filter(delivery__run=run)
        # Walking the whole log's time index backwards looking for one run's
        # rows is slow when the run is old (measured: 0.6 s at 150k attempts).
        # NULLS LAST (no attempt has a null time) keeps the planner off that
        # index: it fetches the run's deliveries and their attempts, then sorts.
        newest_first = [F("at").desc(nulls_last=True), F("id").desc()]
    return attempts.select_related("delivery__run").order_by(*newest_first)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(attempt):
    """A position in the log: "<microseconds since 1970>-<id>" of an attempt."""
    return f"{(attempt.at - _EPOCH) // timedelta(microseconds=1)}-{attempt.pk}"


def decode_cursor(text):
    """(time, id) from encode_cursor(); ValueError when it is not one."""
    micros, _, pk = (text or "").partition("-")
    if not micros.isdigit() or not pk.isdigit():
        raise ValueError("not a log position")
    return _EPOCH + timedelta(microseconds=int(micros)), int(pk)


@dataclass
class LogPage:
    attempts: list
    older: str | None  # cursor for the next, older page
    newer: str | None  # cursor for the previous, newer page


def log_page(attempts, *, before=None, after=None, size=None):
    """One page of `attempts` (from attempt_log: newest first) before or after a cursor.

    Fetches size + 1 rows to learn whether there is more, instead of counting.
    """
    size = size or LOG_PAGE_SIZE
    if after:
        at, pk = decode_cursor(after)
        rows = list(attempts.filter(Q(at__gt=at) | Q(at=at, id__gt=pk)).reverse()[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return LogPage(rows, older=encode_cursor(rows[-1]) if rows else None, newer=_cursor_if(more_newer, rows, 0))
    if before:
        at, pk = decode_cursor(before)
        attempts = attempts.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(attempts[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return LogPage(
        rows, older=_cursor_if(more_older, rows, -1), newer=encode_cursor(rows[0]) if before and rows else None
    )


def _cursor_if(condition, rows, index):
    return encode_cursor(rows[index]) if condition and rows else None

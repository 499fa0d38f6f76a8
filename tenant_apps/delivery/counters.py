"""The delivery counters the report pages read, so no page counts over the log.

Three tables in the workspace schema (models.py): `RunCounter` (a run's
deliveries per state), `AttemptsPerHour` (a mailing's attempts per UTC hour
and outcome: the charts) and `FinishedPerHour` (a mailing's deliveries per
UTC hour they finished in, by state: "the last 30 days").

They are kept by explicit calls, in the same transaction as the change, from
every place that creates deliveries, changes their state or logs an attempt:

- `deliveries_created(run, n)` — engine.create_deliveries (n new pending);
- `held_by(...)` + `batch_written(run, results)` — engine.write_results, for
  the rows this worker still held (locked first, so the count is exact with
  any number of workers);
- `deliveries_expired(run, n, now)` — engine.expire_run (pending → failed);
- `move_deliveries(ids, from_states, to_state)` — feedback (sent → bounced,
  sent/bounced → complained): the update itself, with its counts.

Each is one set-based `INSERT … ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`
of the batch's aggregates, keys in a fixed order (two workers never wait on
each other's counter rows in opposite orders). A claim (pending → sending)
changes no counter: "pending" counts both.

`recount_mailing(mailing_id)` rebuilds a mailing's counters from the log
(the repair: `manage.py recount_delivery_counters`, demo data, test factories).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection, transaction

from .models import AttemptsPerHour, Delivery, FinishedPerHour, Run, RunCounter

PENDING = Delivery.Status.PENDING
OPEN_STATES = (Delivery.Status.PENDING, Delivery.Status.SENDING)


def counted_as(status: str) -> str:
    """The counter a delivery state adds to: pending and sending are both "pending"."""
    return PENDING if status in OPEN_STATES else status


def hour_of(moment: datetime) -> datetime:
    """The UTC hour holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# --- adding deltas --------------------------------------------------------------------------


def _add(cursor, model, key_columns: tuple[str, ...], key_types: tuple[str, ...], deltas: Counter) -> None:
    """n += delta for every key of `deltas` (rows created as needed), in one statement."""
    rows = sorted((key, n) for key, n in deltas.items() if n)
    if not rows:
        return
    table = model._meta.db_table
    columns = ", ".join(key_columns)
    arrays = ", ".join(f"%s::{kind}[]" for kind in key_types)
    keys = [list(column) for column in zip(*(key for key, _ in rows), strict=True)]
    cursor.execute(
        f"INSERT INTO {table} ({columns}, n) SELECT * FROM unnest({arrays}, %s::bigint[]) "  # noqa: S608
        f"ON CONFLICT ({columns}) DO UPDATE SET n = {table}.n + EXCLUDED.n",
        [*keys, [n for _, n in rows]],
    )


def add_run_counts(cursor, deltas: Counter) -> None:
    """{(run id, state): delta}."""
    _add(cursor, RunCounter, ("run_id", "status"), ("bigint", "varchar"), deltas)


def add_attempts(cursor, deltas: Counter) -> None:
    """{(hour, mailing id, attempt status): delta}."""
    _add(cursor, AttemptsPerHour, ("hour", "mailing_id", "status"), ("timestamptz", "bigint", "varchar"), deltas)


def add_finished(cursor, deltas: Counter) -> None:
    """{(hour, mailing id, delivery state): delta}."""
    _add(cursor, FinishedPerHour, ("hour", "mailing_id", "status"), ("timestamptz", "bigint", "varchar"), deltas)


# --- the calls from the places that change deliveries --------------------------------------------


def deliveries_created(run: Run, created: int) -> None:
    with connection.cursor() as cursor:
        add_run_counts(cursor, Counter({(run.pk, PENDING): created}))


HELD_SQL = """
SELECT id FROM delivery_delivery WHERE id = ANY(%s::bigint[]) AND claimed_by = %s AND status = 'sending'
ORDER BY id FOR UPDATE
"""


def held_by(cursor, delivery_ids: list[int], me: str) -> set[int]:
    """Lock the batch's deliveries this worker still holds; the batch write then changes exactly those."""
    cursor.execute(HELD_SQL, [delivery_ids, me])
    return {row[0] for row in cursor.fetchall()}


def batch_written(cursor, run: Run, results: Iterable) -> None:
    """A batch's results (engine.Result, each of a delivery that was "sending") were written."""
    runs, attempts, finished = Counter(), Counter(), Counter()
    for result in results:
        runs[(run.pk, PENDING)] -= 1
        runs[(run.pk, counted_as(result.status))] += 1
        if result.finished_at is not None and result.status not in OPEN_STATES:
            finished[(hour_of(result.finished_at), run.mailing_id, result.status)] += 1
        if result.attempt is not None:
            at, status = result.attempt[0], result.attempt[1]
            attempts[(hour_of(at), run.mailing_id, status)] += 1
    add_run_counts(cursor, runs)
    add_attempts(cursor, attempts)
    add_finished(cursor, finished)


def deliveries_expired(run: Run, expired: int, now: datetime) -> None:
    """`expired` pending (or abandoned sending) deliveries of the run failed at `now`."""
    with connection.cursor() as cursor:
        add_run_counts(cursor, Counter({(run.pk, PENDING): -expired, (run.pk, Delivery.Status.FAILED): expired}))
        add_finished(cursor, Counter({(hour_of(now), run.mailing_id, Delivery.Status.FAILED): expired}))


MOVE_SQL = """
WITH moving AS (
    SELECT d.id, d.status AS was FROM delivery_delivery d
    WHERE d.id = ANY(%(ids)s::bigint[]) AND d.status = ANY(%(from)s::varchar[])
    ORDER BY d.id FOR UPDATE
), moved AS (
    UPDATE delivery_delivery d SET status = %(to)s FROM moving WHERE d.id = moving.id
    RETURNING d.run_id, moving.was, d.finished_at
)
SELECT moved.run_id, r.mailing_id, moved.was, moved.finished_at, count(*)
FROM moved JOIN delivery_run r ON r.id = moved.run_id
GROUP BY 1, 2, 3, 4
"""


def move_deliveries(delivery_ids: list[int], from_states: Iterable[str], to_state: str) -> int:
    """Set these deliveries (those now in `from_states`) to `to_state`, counters included; how many moved."""
    moved_total = 0
    runs, finished = Counter(), Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(MOVE_SQL, {"ids": list(delivery_ids), "from": list(from_states), "to": to_state})
        for run_id, mailing_id, was, finished_at, moved in cursor.fetchall():
            moved_total += moved
            runs[(run_id, counted_as(was))] -= moved
            runs[(run_id, counted_as(to_state))] += moved
            if finished_at is not None:
                finished[(hour_of(finished_at), mailing_id, was)] -= moved
                finished[(hour_of(finished_at), mailing_id, to_state)] += moved
        add_run_counts(cursor, runs)
        add_finished(cursor, finished)
    return moved_total


# --- the repair ------------------------------------------------------------------------------------

RECOUNT_RUNS_SQL = """
INSERT INTO delivery_runcounter (run_id, status, n)
SELECT d.run_id, CASE WHEN d.status IN ('pending', 'sending') THEN 'pending' ELSE d.status END, count(*)
FROM delivery_delivery d JOIN delivery_run r ON r.id = d.run_id WHERE r.mailing_id = %(mailing)s
GROUP BY 1, 2
"""
RECOUNT_ATTEMPTS_SQL = """
INSERT INTO delivery_attemptsperhour (hour, mailing_id, status, n)
SELECT date_trunc('hour', a.at, 'UTC'), %(mailing)s, a.status, count(*)
FROM delivery_attempt a JOIN delivery_delivery d ON d.id = a.delivery_id JOIN delivery_run r ON r.id = d.run_id
WHERE r.mailing_id = %(mailing)s
GROUP BY 1, 3
"""
RECOUNT_FINISHED_SQL = """
INSERT INTO delivery_finishedperhour (hour, mailing_id, status, n)
SELECT date_trunc('hour', d.finished_at, 'UTC'), %(mailing)s, d.status, count(*)
FROM delivery_delivery d JOIN delivery_run r ON r.id = d.run_id
WHERE r.mailing_id = %(mailing)s AND d.finished_at IS NOT NULL AND d.status NOT IN ('pending', 'sending')
GROUP BY 1, 3
"""


def recount_mailing(mailing_id: int) -> None:
    """Rebuild a mailing's counters from its deliveries and attempts (one aggregate per table).

    Meant for a mailing that is not sending: a batch written while this runs
    would be counted twice or not at all. The `recount_delivery_counters`
    command skips sending runs' mailings unless told otherwise.
    """
    params = {"mailing": mailing_id}
    with transaction.atomic(), connection.cursor() as cursor:
        RunCounter.objects.filter(run__mailing_id=mailing_id).delete()
        AttemptsPerHour.objects.filter(mailing_id=mailing_id).delete()
        FinishedPerHour.objects.filter(mailing_id=mailing_id).delete()
        cursor.execute(RECOUNT_RUNS_SQL, params)
        cursor.execute(RECOUNT_ATTEMPTS_SQL, params)
        cursor.execute(RECOUNT_FINISHED_SQL, params)


def recount_idle_mailings() -> int:
    """Repair the counters of every mailing without a sending run; how many were recounted."""
    from tenant_apps.campaigns.models import Mailing

    sending = Run.objects.filter(status=Run.Status.SENDING).values("mailing_id")
    ids = list(Mailing.objects.exclude(pk__in=sending).values_list("pk", flat=True))
    for mailing_id in ids:
        recount_mailing(mailing_id)
    return len(ids)

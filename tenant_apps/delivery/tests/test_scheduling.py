"""Occurrence arithmetic: month ends, DST, the window, catch-up (no database)."""

import datetime as dt
from zoneinfo import ZoneInfo

from tenant_apps.delivery.scheduling import Occurrences, due_occurrence, next_due_time, run_deadline

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(tz, *args):
    return dt.datetime(*args, tzinfo=tz)


def test_monthly_on_the_31st_runs_on_the_last_day_of_short_months_and_back_on_the_31st():
    occ = Occurrences(local(BERLIN, 2027, 1, 31, 10), local(BERLIN, 2028, 12, 31), "monthly", BERLIN)
    days = [occ.at(k).astimezone(BERLIN).date() for k in range(5)]
    assert days == [
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
        dt.date(2027, 5, 31),
    ]
    assert occ.at(13).astimezone(BERLIN).date() == dt.date(2028, 2, 29), "leap year"
    assert all(occ.at(k).astimezone(BERLIN).hour == 10 for k in range(14)), "same wall time, summer and winter"


def test_daily_keeps_the_wall_clock_time_across_dst_changes():
    occ = Occurrences(local(BERLIN, 2026, 3, 27, 9), local(BERLIN, 2026, 12, 1), "daily", BERLIN)
    before, after = occ.at(1), occ.at(3)  # Mar 28 (CET), Mar 30 (CEST)
    assert before.astimezone(BERLIN).hour == after.astimezone(BERLIN).hour == 9
    assert before.hour == 8 and after.hour == 7, "08:00 UTC in winter time, 07:00 UTC in summer time"
    autumn = occ.first_after(local(BERLIN, 2026, 10, 25, 12))  # the day after the autumn change
    assert autumn == local(BERLIN, 2026, 10, 26, 9) and autumn.astimezone(UTC).hour == 8


def test_weekly_across_the_new_york_dst_change():
    occ = Occurrences(local(NEW_YORK, 2026, 3, 1, 18), local(NEW_YORK, 2026, 6, 1), "weekly", NEW_YORK)
    assert [occ.at(k).astimezone(UTC).hour for k in range(3)] == [23, 22, 22]  # DST starts Mar 8 at 02:00
    assert all(occ.at(k).astimezone(NEW_YORK).hour == 18 for k in range(3))


def test_a_wall_time_in_the_spring_forward_gap_runs_an_hour_later():
    occ = Occurrences(local(BERLIN, 2026, 3, 28, 2, 30), local(BERLIN, 2026, 4, 30), "daily", BERLIN)
    assert occ.at(1).astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 30)
    assert occ.at(2).astimezone(BERLIN).hour == 2


def test_nothing_runs_at_or_after_the_end():
    start = local(UTC, 2026, 1, 1, 12)
    occ = Occurrences(start, local(UTC, 2026, 1, 3, 12), "daily", UTC)
    assert occ.first_after(local(UTC, 2026, 1, 1, 13)) == local(UTC, 2026, 1, 2, 12)
    assert occ.first_after(local(UTC, 2026, 1, 2, 13)) is None, "Jan 3 12:00 is the end itself"
    assert due_occurrence(occ, local(UTC, 2026, 1, 3, 12, 1), None) is None
    assert next_due_time(occ, local(UTC, 2026, 1, 5), local(UTC, 2026, 1, 2, 12)) is None


def test_a_one_off_mailing_has_one_occurrence():
    occ = Occurrences(local(UTC, 2026, 5, 1, 8), local(UTC, 2026, 5, 2), "once", UTC)
    assert occ.first_after(local(UTC, 2026, 4, 1)) == local(UTC, 2026, 5, 1, 8)
    assert occ.first_after(local(UTC, 2026, 5, 1, 8)) is None
    assert due_occurrence(occ, local(UTC, 2026, 5, 1, 9), None) == local(UTC, 2026, 5, 1, 8)
    assert due_occurrence(occ, local(UTC, 2026, 5, 1, 9), local(UTC, 2026, 5, 1, 8)) is None, "already run"


def test_after_downtime_only_the_latest_missed_occurrence_is_due():
    occ = Occurrences(local(UTC, 2026, 1, 1, 9), local(UTC, 2026, 2, 1), "daily", UTC)
    last_run = local(UTC, 2026, 1, 2, 9)
    now = local(UTC, 2026, 1, 6, 10)  # Jan 3, 4, 5, 6 were missed
    assert due_occurrence(occ, now, last_run) == local(UTC, 2026, 1, 6, 9)
    assert next_due_time(occ, now, local(UTC, 2026, 1, 6, 9)) == local(UTC, 2026, 1, 7, 9)


def test_a_runs_retries_end_when_the_next_occurrence_starts_or_the_mailing_ends():
    occ = Occurrences(local(UTC, 2026, 1, 1, 9), local(UTC, 2026, 1, 3, 0), "daily", UTC)
    assert run_deadline(occ, local(UTC, 2026, 1, 1, 9)) == local(UTC, 2026, 1, 2, 9)
    assert run_deadline(occ, local(UTC, 2026, 1, 2, 9)) == local(UTC, 2026, 1, 3, 0)

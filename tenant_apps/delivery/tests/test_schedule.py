"""The schedule index follows every mailing change; the tick; start on save; a future start."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from tenant_apps.campaigns import services as campaigns
from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery import services
from tenant_apps.delivery.models import Run
from tenant_apps.delivery.tasks import tick
from tenants.models import ScheduleEntry, Workspace


def entry_for(mailing):
    return ScheduleEntry.objects.filter(mailing_id=mailing.pk, workspace__schema_name=connection.schema_name).first()


def test_a_future_mailing_is_indexed_at_its_start_and_stays_created(in_workspace, engine_settings, make_mailing):
    engine_settings(1)
    start = timezone.now() + dt.timedelta(hours=2)
    mailing = make_mailing(2, start=start, end=start + dt.timedelta(days=1))

    assert entry_for(mailing).next_run_at == start
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CREATED
    assert not Run.objects.filter(mailing=mailing).exists()


def test_changing_the_start_moves_the_entry(in_workspace, engine_settings, make_mailing):
    engine_settings(1)
    start = timezone.now() + dt.timedelta(hours=2)
    mailing = make_mailing(1, start=start, end=start + dt.timedelta(days=3), periodicity="daily")
    mailing.start_at = start + dt.timedelta(hours=5)
    mailing.save()
    services.mailing_changed(mailing)
    assert entry_for(mailing).next_run_at == start + dt.timedelta(hours=5)


@pytest.mark.parametrize("flag", ["is_paused", "disabled_by_manager"])
def test_paused_or_disabled_mailings_are_not_scheduled_until_re_enabled(
    in_workspace, engine_settings, make_mailing, flag
):
    engine_settings(1)
    start = timezone.now() + dt.timedelta(hours=2)
    mailing = make_mailing(1, start=start, end=start + dt.timedelta(days=1))
    setattr(mailing, flag, True)
    mailing.save()
    services.mailing_changed(mailing)
    assert entry_for(mailing) is None

    setattr(mailing, flag, False)
    mailing.save()
    services.mailing_changed(mailing)
    assert entry_for(mailing).next_run_at == start


def test_deleting_a_mailing_removes_its_entry(in_workspace, engine_settings, make_mailing):
    engine_settings(1)
    start = timezone.now() + dt.timedelta(hours=2)
    mailing = make_mailing(1, start=start, end=start + dt.timedelta(days=1))
    assert entry_for(mailing) is not None
    mailing_id = mailing.pk
    campaigns.delete_mailing(mailing)
    assert not ScheduleEntry.objects.filter(mailing_id=mailing_id, workspace=in_workspace).exists()


def test_a_mailing_whose_window_has_passed_is_completed_and_never_runs(in_workspace, engine_settings, make_mailing):
    engine_settings(1)
    now = timezone.now()
    mailing = make_mailing(1, start=now - dt.timedelta(days=2), end=now - dt.timedelta(days=1))
    mailing.refresh_from_db()
    assert entry_for(mailing) is None and mailing.status == Mailing.Status.COMPLETED
    assert services.prepare_due_runs(mailing, workspace=in_workspace) == []


def test_saving_a_mailing_inside_its_window_sends_it_when_the_transaction_commits(
    in_workspace, engine_settings, smtp_server, make_mailing, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        mailing = make_mailing(4)
    assert smtp_server.recipients == [], "nothing is sent inside the request's transaction"
    assert callbacks, "the run is enqueued on commit"

    for callback in callbacks:  # the commit: huey runs the task inline in tests
        callback()

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.COMPLETED, "a one-off mailing is completed after its run"
    assert entry_for(mailing) is None


def test_a_future_start_runs_by_itself_when_the_tick_finds_it_due(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    start = timezone.now() + dt.timedelta(hours=1)
    mailing = make_mailing(3, start=start, end=start + dt.timedelta(days=10), periodicity="daily")

    with time_machine.travel(start - dt.timedelta(minutes=1)):
        tick.call_local()
    assert smtp_server.recipients == []

    with time_machine.travel(start + dt.timedelta(seconds=20)):
        tick.call_local()
    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.RUNNING, "a daily mailing keeps running between occurrences"
    assert entry_for(mailing).next_run_at == start + dt.timedelta(days=1)

    with time_machine.travel(start + dt.timedelta(minutes=2)):
        tick.call_local()
    assert len(smtp_server.recipients) == 3, "the same occurrence is not sent twice"


def test_after_downtime_the_tick_sends_only_the_latest_missed_occurrence(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    start = timezone.now() + dt.timedelta(minutes=5)
    mailing = make_mailing(2, start=start, end=start + dt.timedelta(days=10), periodicity="daily")

    with time_machine.travel(start + dt.timedelta(days=3, hours=1)):  # three days without a consumer
        tick.call_local()

    assert list(Run.objects.filter(mailing=mailing).values_list("scheduled_for", flat=True)) == [
        start + dt.timedelta(days=3)
    ]
    assert len(smtp_server.recipients) == 2


def fake_workspaces(first, count):
    """Workspace rows (no schemas: the tick never enters them here) each with a due entry."""
    for i in range(first, first + count):
        workspace = Workspace(name=f"Tick {i}", slug=f"tick-{i}", schema_name=f"ws_tick_{i}")
        workspace.auto_create_schema = False
        workspace.save()
        ScheduleEntry.objects.create(workspace=workspace, mailing_id=i + 1, next_run_at=timezone.now())


def queries_of_one_tick():
    """The tick's queries, with the tasks enqueued into Redis instead of run inline."""
    HUEY.immediate = False
    try:
        with CaptureQueriesContext(connection) as queries:
            tick.call_local()
        enqueued = len(HUEY)
    finally:
        HUEY.flush()
        HUEY.immediate = True
    return len(queries), enqueued


def test_the_ticks_query_count_does_not_grow_with_the_number_of_workspaces(db):
    fake_workspaces(0, 2)
    with_two = queries_of_one_tick()
    fake_workspaces(2, 18)
    ScheduleEntry.objects.update(next_run_at=timezone.now() - dt.timedelta(seconds=1))
    with_twenty = queries_of_one_tick()

    assert with_two[1] == 2 and with_twenty[1] == 20, "one task per due mailing"
    assert with_two[0] == with_twenty[0] <= 2  # the UPDATE … RETURNING (and entering the public schema)
    assert ScheduleEntry.objects.filter(next_run_at__lte=timezone.now()).count() == 0, "leased, not handed out again"


def test_chosen_clients_saved_after_the_run_started_still_get_it(
    in_workspace, engine_settings, smtp_server, make_mailing, django_capture_on_commit_callbacks
):
    """The mailing is saved (and its run starts), then its chosen clients: they join the run."""
    engine_settings(smtp_server.port)
    with django_capture_on_commit_callbacks(execute=True):
        mailing = make_mailing(3, audience="selected")  # nobody chosen yet: the run starts empty
    assert smtp_server.recipients == []

    with django_capture_on_commit_callbacks(execute=True):
        mailing.clients.add(*mailing.subscribed_clients[:2])
        services.mailing_changed(mailing)

    assert sorted(smtp_server.recipients) == sorted(c.email for c in mailing.subscribed_clients[:2])
    assert Run.objects.get(mailing=mailing).status == Run.Status.DONE
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.COMPLETED


def test_tasks_enter_their_schema_whatever_the_connection_was_left_in(
    in_workspace, other_workspace, engine_settings, smtp_server, make_mailing
):
    from tenant_apps.delivery.tasks import run_due_mailing

    engine_settings(smtp_server.port)
    mailing = make_mailing(3)
    connection.set_tenant(other_workspace)  # left over from whatever ran before in this thread

    run_due_mailing(in_workspace.schema_name, mailing.pk)

    assert len(smtp_server.recipients) == 3
    assert connection.schema_name == other_workspace.schema_name, "and the connection is given back as it was"
    connection.set_tenant(in_workspace)
    assert Run.objects.get(mailing=mailing).status == Run.Status.DONE


def test_no_signal_receiver_sits_between_a_mailing_and_the_engine():
    """The hand-off is explicit (services.mailing_changed), so a reader can follow the calls."""
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

    ours = ("tenant_apps", "shared_apps", "tenants", "saas")
    receivers = [
        receiver
        for signal, sender in [(s, Mailing) for s in (pre_save, post_save, pre_delete, post_delete)]
        + [(m2m_changed, Mailing.clients.through)]
        for group in signal._live_receivers(sender)
        for receiver in group
    ]
    # django-tenants' own post_delete hook (on every model) is an outside library's.
    assert [r for r in receivers if r.__module__.startswith(ours)] == []


def test_saving_a_mailing_without_the_hand_off_schedules_nothing(in_workspace, engine_settings, make_mailing):
    """The contract of the hand-off: whoever saves a mailing calls mailing_changed."""
    engine_settings(1)
    start = timezone.now() + dt.timedelta(hours=2)
    mailing = make_mailing(1, start=start, end=start + dt.timedelta(days=1))
    mailing.start_at = start + dt.timedelta(hours=1)
    mailing.save()
    assert entry_for(mailing).next_run_at == start, "a bare save() changes nothing else"

    services.mailing_changed(mailing)

    assert entry_for(mailing).next_run_at == start + dt.timedelta(hours=1)

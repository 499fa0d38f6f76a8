"""The engine's status changes reach the home page's figures at once (not after the periodic recount)."""

import pytest
from django.core.management import call_command

from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery import engine, services

pytestmark = pytest.mark.django_db


def test_a_run_starting_and_finishing_moves_sending_now_on_the_home_page(
    in_workspace, engine_settings, smtp_server, make_mailing, home_figures, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    total, active, _unique = home_figures()
    mailing = make_mailing(2)  # its own on-commit start is not run: the test drives the engine

    with django_capture_on_commit_callbacks(execute=True):
        (run,) = services.prepare_due_runs(mailing)  # the engine marks it running with update()

    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.RUNNING
    assert home_figures()[:2] == (total + 1, active + 1)

    with django_capture_on_commit_callbacks(execute=True):
        engine.process_run(run, in_workspace)
        services.after_run(run, workspace=in_workspace)

    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.COMPLETED
    assert home_figures()[:2] == (total + 1, active)


def test_start_sched_leaves_the_home_page_figures_right(
    in_workspace, engine_settings, smtp_server, make_mailing, home_figures, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    total, active, _unique = home_figures()
    make_mailing(2)
    periodic = make_mailing(1, periodicity="daily")  # stays running between its daily runs

    with django_capture_on_commit_callbacks(execute=True):
        call_command("start_sched", "--tenant", in_workspace.slug, "--no-progress", "--max-wait", "30")

    assert Mailing.objects.get(pk=periodic.pk).status == Mailing.Status.RUNNING
    assert home_figures()[:2] == (total + 2, active + 1)


def test_the_engine_pausing_a_mailing_for_a_refused_sender_takes_it_off_sending_now(
    in_workspace, engine_settings, smtp_sink, make_mailing, home_figures, django_capture_on_commit_callbacks
):
    engine_settings(smtp_sink("-f", "MAIL").port).DELIVERY_SMTP_TIMEOUT = 5.0  # 500 on MAIL FROM
    total, active, _unique = home_figures()
    mailing = make_mailing(3)  # its own on-commit start is not run: the test drives the engine
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = services.prepare_due_runs(mailing)
    assert home_figures()[:2] == (total + 1, active + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert engine.process_run(run, in_workspace).state == "paused"
        services.after_run(run, workspace=in_workspace)

    assert Mailing.objects.get(pk=mailing.pk).is_paused
    assert home_figures()[:2] == (total + 1, active)

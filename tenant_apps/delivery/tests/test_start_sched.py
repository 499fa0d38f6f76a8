"""`manage.py start_sched` in this process: the summary, not-due mailings, every workspace, bad arguments."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone


def start_sched(**options):
    out, err = StringIO(), StringIO()
    call_command("start_sched", no_progress=False, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_it_sends_the_workspaces_due_mailings_with_a_progress_bar_and_a_summary(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    make_mailing(5)

    out, err = start_sched(tenant=in_workspace.slug)

    assert len(smtp_server.recipients) == 5
    assert "sent: 5, failed: 0, retried: 0, skipped: 0" in out
    assert "5/5" in err and "msg" in err, "tqdm progress bar"


def test_it_reports_failures_and_retries_in_the_summary(in_workspace, engine_settings, smtp_sink, make_mailing):
    refusing = smtp_sink("-f", "RCPT")
    engine_settings(refusing.port)
    make_mailing(3)

    out, _err = start_sched(tenant=in_workspace.slug, max_wait=60)

    assert "sent: 0, failed: 3, retried: 0" in out


def test_max_wait_holds_against_a_slow_server_and_hands_the_rest_back_untouched(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    from tenant_apps.delivery.models import Attempt, Delivery

    slow = smtp_sink("-w", "3")  # answers DATA after 3 s, well within the 10 s timeout
    engine_settings(slow.port).DELIVERY_SMTP_TIMEOUT = 10.0
    mailing = make_mailing(20)  # batches of 7

    out, _err = start_sched(tenant=in_workspace.slug, mailing=mailing.pk, max_wait=1)

    assert "20 deliveries left for the consumer" in out
    deliveries = Delivery.objects.filter(run__mailing=mailing)
    assert set(deliveries.values_list("status", "attempt_count")) == {("pending", 0)}
    (cut,) = Attempt.objects.filter(delivery__run__mailing=mailing)  # the message in flight at the limit
    assert cut.status == "failure" and not cut.permanent and cut.response.startswith("stopped at the time limit")


def test_a_mailing_that_is_not_due_says_when_it_runs(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    start = timezone.now() + dt.timedelta(days=2)
    mailing = make_mailing(2, start=start, end=start + dt.timedelta(days=1))

    out, _err = start_sched(tenant=in_workspace.slug, mailing=mailing.pk)

    assert "not due (next run at" in out and "sent: 0" in out
    assert smtp_server.recipients == []


@pytest.mark.parametrize(
    "state, note",
    [
        ({"is_paused": True}, "paused, nothing is sent; resume it to send."),
        ({"is_paused": True, "disabled_by_manager": True}, "disabled by a manager, nothing is sent"),
        (
            {"is_paused": True, "pause_reason": "sender_refused", "pause_detail": "MAIL FROM: 553 not allowed"},
            "paused: the mail provider refused the sender or the account (MAIL FROM: 553 not allowed)",
        ),
    ],
    ids=["paused", "disabled", "paused-by-the-engine"],
)
def test_a_paused_or_disabled_mailing_says_so(in_workspace, engine_settings, smtp_server, make_mailing, state, note):
    engine_settings(smtp_server.port)
    mailing = make_mailing(2, **state)

    out, _err = start_sched(tenant=in_workspace.slug, mailing=mailing.pk)

    assert f"mailing {mailing.pk} «{mailing.name}»: {note}" in out
    assert "not due" not in out and "nothing left to send" not in out
    assert smtp_server.recipients == []


def test_a_mailing_paused_by_a_refused_sender_mid_run_says_why_and_what_waits(
    in_workspace, engine_settings, smtp_sink, make_mailing
):
    refusing = smtp_sink("-f", "MAIL")
    engine_settings(refusing.port)
    mailing = make_mailing(4)

    out, _err = start_sched(tenant=in_workspace.slug, mailing=mailing.pk)

    assert "paused: the mail provider refused the sender or the account (MAIL FROM: 500 5.3.0" in out
    assert "4 deliveries wait." in out and "sent: 0, failed: 0" in out


@pytest.fixture
def mailings_in_both_workspaces(in_workspace, other_workspace, make_mailing):
    """Two due mailings in acme, three in globex; the test ends back in acme's schema."""
    make_mailing(2)
    connection.set_tenant(other_workspace)
    make_mailing(3)
    connection.set_tenant(in_workspace)


def test_with_no_arguments_it_sends_every_workspaces_due_mailings_with_a_progress_bar(
    mailings_in_both_workspaces, engine_settings, smtp_server
):
    engine_settings(smtp_server.port)

    out, err = start_sched()

    assert len(smtp_server.recipients) == 5 and "sent: 5" in out
    assert "acme / Mailing 1" in err and "globex / Mailing 2" in err, "a tqdm bar per run"


def test_all_is_still_accepted_and_means_every_workspace(mailings_in_both_workspaces, engine_settings, smtp_server):
    engine_settings(smtp_server.port)

    out, _err = start_sched(all=True)

    assert len(smtp_server.recipients) == 5 and "sent: 5" in out


def test_tenant_narrows_it_to_one_workspace(mailings_in_both_workspaces, in_workspace, engine_settings, smtp_server):
    engine_settings(smtp_server.port)

    out, _err = start_sched(tenant=in_workspace.slug)

    assert len(smtp_server.recipients) == 2 and "sent: 2" in out
    assert all(rcpt.startswith("c1-") for rcpt in smtp_server.recipients)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"tenant": "no-such-workspace"}, "No workspace with the address 'no-such-workspace'."),
        ({"tenant": "acme", "mailing": 987654}, "No mailing 987654 in the workspace 'acme'."),
        ({"all": True, "mailing": 1}, "--mailing needs --tenant."),
        ({"mailing": 1}, "--mailing needs --tenant."),
    ],
)
def test_bad_arguments_are_clear_errors(workspace, options, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        start_sched(**options)

"""The reputation guard: too many hard bounces or complaints in a run pause the workspace until a manager releases."""

import pytest
from django.core import mail
from django.db import connection

from shared_apps.deliverability.models import WorkspaceFeedback
from shared_apps.deliverability.services import sending_paused
from tenant_apps.delivery import engine, services
from tenant_apps.feedback.incoming import Incoming
from tenant_apps.feedback.tasks import record_in_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(workspace, user_factory):
    workspace.owner = user_factory(email="owner@acme.example")
    workspace.save()
    return workspace


@pytest.fixture
def manager(user_factory):
    from tenants.access import ensure_managers_group

    user = user_factory(email="manager@example.com")
    user.groups.add(ensure_managers_group())
    return user


def inject(workspace, deliveries, kind="hard"):
    """Bounces fed through the consumer's own entry point (as the receiver's task does)."""
    events = [Incoming(kind=kind, source="smtp", delivery_id=d.pk, status_code="5.1.1") for d in deliveries]
    return record_in_workspace(workspace, events)


def test_hard_bounce_rate_over_five_percent_pauses_the_workspace_and_emails_the_owner(
    owned, sent_run, django_capture_on_commit_callbacks
):
    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:10])  # exactly 5 %: not over
    assert not sending_paused(owned.pk)
    with django_capture_on_commit_callbacks(execute=True):
        inject(owned, deliveries[10:11])  # 11 of 200 = 5.5 %
    assert sending_paused(owned.pk)
    figures = WorkspaceFeedback.objects.get(workspace=owned).pause_figures
    assert (figures["delivered"], figures["hard_bounces"], figures["hard_bounce_rate"]) == (200, 11, 5.5)
    [email] = mail.outbox
    assert email.to == ["owner@acme.example"] and "11" in email.body and "5,5 %" in email.body  # in Russian


def test_complaint_rate_over_a_tenth_of_a_percent_pauses(owned, sent_run):
    _run, deliveries = sent_run(1000, owned)
    inject(owned, deliveries[:1], "complaint")  # 0.1 %: not over
    assert not sending_paused(owned.pk)
    inject(owned, deliveries[1:2], "complaint")
    assert sending_paused(owned.pk)


def test_small_runs_never_pause(owned, sent_run):
    _run, deliveries = sent_run(199, owned)
    inject(owned, deliveries[:100])
    assert not sending_paused(owned.pk)


def test_soft_bounces_do_not_count_towards_the_hard_bounce_rate(owned, sent_run):
    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:50], "soft")
    assert not sending_paused(owned.pk)


def test_thresholds_are_settings(owned, sent_run, settings):
    settings.REPUTATION_MIN_DELIVERIES = 10
    settings.REPUTATION_MAX_HARD_BOUNCE_RATE = 20.0
    _run, deliveries = sent_run(10, owned)
    inject(owned, deliveries[:2])
    assert not sending_paused(owned.pk)
    inject(owned, deliveries[2:3])
    assert sending_paused(owned.pk)


def test_other_workspaces_keep_sending(owned, other_workspace, sent_run):
    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:20])
    assert sending_paused(owned.pk) and not sending_paused(other_workspace.pk)


def test_paused_workspace_sends_nothing_until_a_manager_releases_it(
    owned, sent_run, engine_settings, provider, make_mailing, manager, public_client, django_capture_on_commit_callbacks
):
    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:20])
    engine_settings(provider.port)
    connection.set_tenant(owned)
    mailing = make_mailing(3)
    (run,) = services.prepare_due_runs(mailing, workspace=owned)
    assert engine.process_run(run, owned).state == "paused"
    assert provider.envelopes == []

    connection.set_schema_to_public()
    public_client.force_login(manager)
    page = public_client.get("/console/reputation/")
    assert page.status_code == 200
    row = page.content.decode()
    assert 'data-testid="paused-acme"' in row and "20 (10,0 %)" in row
    with django_capture_on_commit_callbacks(execute=False):
        response = public_client.post("/console/reputation/acme/release/")
    assert response.status_code == 302
    assert not sending_paused(owned.pk)
    feedback = WorkspaceFeedback.objects.get(workspace=owned)
    assert feedback.released_by == manager and feedback.released_at is not None

    connection.set_tenant(owned)
    assert engine.process_run(run, owned).state == "done"
    recipients = set(provider.recipients)
    assert {c.email for c in mailing.subscribed_clients} <= recipients
    assert not recipients & {d.email for d in deliveries[:20]}  # the bounced ones stay suppressed
    assert len(recipients) == 200 - 20 + 3


def test_release_needs_a_manager_who_oversees_the_workspace(owned, sent_run, public_client, user_factory):
    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:20])
    connection.set_schema_to_public()
    public_client.force_login(user_factory(email="nobody@example.com"))
    assert public_client.get("/console/reputation/").status_code == 404
    assert public_client.post("/console/reputation/acme/release/").status_code == 404
    assert sending_paused(owned.pk)


def test_console_lists_nothing_when_no_workspace_is_paused(manager, public_client):
    public_client.force_login(manager)
    page = public_client.get("/console/reputation/")
    assert page.status_code == 200 and 'data-testid="paused-acme"' not in page.content.decode()


def test_checks_are_throttled_per_run_and_the_last_bounce_is_checked_later(owned, sent_run, settings, real_queue):
    from huey.contrib.djhuey import HUEY

    settings.REPUTATION_CHECK_SECONDS = 60
    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:1])  # checked now: fine
    inject(owned, deliveries[1:20])  # inside the window: not counted now…
    assert not sending_paused(owned.pk)
    assert len(real_queue) == 1  # …but one check is queued for the window's end
    inject(owned, deliveries[20:25])
    assert len(real_queue) == 1  # and only one
    later = HUEY.dequeue()
    assert later.eta is not None  # the consumer holds it back until then
    HUEY.immediate = True  # run it here, as the consumer will when the delay is over
    HUEY.execute(later, timestamp=later.eta)
    assert sending_paused(owned.pk)


def test_late_bounces_of_a_released_run_do_not_pause_again_but_another_run_does(owned, sent_run, manager):
    from shared_apps.deliverability.services import release_pause

    _run, deliveries = sent_run(200, owned)
    inject(owned, deliveries[:20])
    release_pause(owned, manager)
    inject(owned, deliveries[20:40])
    assert not sending_paused(owned.pk)
    _other_run, others = sent_run(200, owned)
    inject(owned, others[:20])
    assert sending_paused(owned.pk)

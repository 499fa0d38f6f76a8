"""Issue 6: a manager disabling a mailing stops its next run; enabling brings it back."""

import datetime as dt

import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.console.services import set_mailing_disabled
from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery import services as delivery
from tenant_apps.delivery.models import Run
from tenants.models import ScheduleEntry


def daily_mailing_starting_in_an_hour(workspace):
    with schema_context(workspace.schema_name):
        Client.objects.create(email="reader@example.com")
        message = Message.objects.create(subject="News", body_text="Hello {{ name }}")
        start = timezone.now() + dt.timedelta(hours=1)
        mailing = Mailing.objects.create(
            name="Daily news",
            message=message,
            start_at=start,
            end_at=start + dt.timedelta(days=7),
            periodicity=Mailing.Periodicity.DAILY,
        )
        delivery.mailing_changed(mailing)
        return mailing


def runs_of(workspace, mailing):
    with schema_context(workspace.schema_name):
        return Run.objects.filter(mailing_id=mailing.pk).count()


def test_disabled_mailing_leaves_the_schedule_and_is_not_run_when_due(workspace, console_client):
    mailing = daily_mailing_starting_in_an_hour(workspace)
    assert ScheduleEntry.objects.filter(workspace=workspace, mailing_id=mailing.pk).exists()

    response = console_client.post(f"/console/mailings/{workspace.slug}/{mailing.pk}/disable/")

    assert response.status_code == 302
    assert not ScheduleEntry.objects.filter(workspace=workspace, mailing_id=mailing.pk).exists()
    with time_machine.travel(mailing.start_at + dt.timedelta(minutes=1)):
        due = delivery.claim_due_entries()
    assert (workspace.schema_name, mailing.pk) not in due
    assert runs_of(workspace, mailing) == 0


def test_re_enabled_mailing_is_scheduled_and_runs_when_due(workspace):
    mailing = daily_mailing_starting_in_an_hour(workspace)
    set_mailing_disabled(workspace, mailing.pk, True)

    set_mailing_disabled(workspace, mailing.pk, False)

    entry = ScheduleEntry.objects.get(workspace=workspace, mailing_id=mailing.pk)
    assert entry.next_run_at == mailing.start_at
    with time_machine.travel(mailing.start_at + dt.timedelta(minutes=1)):
        due = delivery.claim_due_entries()
    assert (workspace.schema_name, mailing.pk) in due

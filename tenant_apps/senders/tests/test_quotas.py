"""Quotas: monthly messages reserved per batch without passing the limit; imports stop at the client limit."""

import pytest
from django.core import mail
from django.utils import translation

from tenant_apps.audience import services as audience
from tenant_apps.audience.models import Client, ImportJob
from tenant_apps.senders import quotas

pytestmark = pytest.mark.django_db


def test_reservations_never_pass_the_monthly_limit(workspace):
    workspace.messages_per_month = 10
    assert quotas.reserve(workspace, 4) == 4
    assert quotas.reserve(workspace, 4) == 4
    assert quotas.reserve(workspace, 4) == 2
    assert quotas.reserve(workspace, 4) == 0
    assert quotas.message_usage(workspace).used == 10


def test_released_messages_can_be_reserved_again(workspace):
    workspace.messages_per_month = 5
    assert quotas.reserve(workspace, 5) == 5
    quotas.release(workspace, 3)
    assert quotas.reserve(workspace, 5) == 3


def test_platform_default_applies_when_the_workspace_has_none(workspace, settings):
    settings.QUOTA_MESSAGES_PER_MONTH = 3
    workspace.messages_per_month = None
    assert quotas.reserve(workspace, 5) == 3


def test_zero_means_unlimited(workspace, settings):
    settings.QUOTA_MESSAGES_PER_MONTH = 0
    workspace.messages_per_month = None
    assert quotas.reserve(workspace, 10**6) == 10**6


def test_a_new_month_starts_from_zero(workspace):
    import datetime as dt

    workspace.messages_per_month = 2
    last_month = dt.datetime(2026, 1, 31, 23, 0, tzinfo=dt.UTC)
    assert quotas.reserve(workspace, 2, now=last_month) == 2
    assert quotas.reserve(workspace, 2, now=last_month) == 0
    assert quotas.reserve(workspace, 2, now=last_month + dt.timedelta(hours=2)) == 2


def test_owner_is_emailed_once_when_the_quota_stops_sending(
    workspace, member_factory, django_capture_on_commit_callbacks
):
    owner = member_factory(workspace)
    workspace.owner = owner
    workspace.messages_per_month = 100
    with django_capture_on_commit_callbacks(execute=True):
        assert quotas.notify_quota_reached(workspace, "Autumn sale")
        assert not quotas.notify_quota_reached(workspace, "Autumn sale")
    [message] = mail.outbox
    assert message.to == [owner.email]
    assert "Autumn sale" in message.body and "100" in message.body


def test_import_stops_at_the_client_limit_with_a_clear_message(in_workspace):
    in_workspace.clients_max = Client.objects.count() + 3
    in_workspace.save(update_fields=["clients_max"])
    Client.objects.create(email="already@example.com")  # existing emails never count against the room left
    rows = "email\nalready@example.com\n" + "".join(f"n{i}@example.com\n" for i in range(5))
    job = audience.run_import(ImportJob.objects.create(file_name="t.csv", data=rows.encode()))
    assert job.status == ImportJob.Status.FAILED
    assert Client.objects.count() == in_workspace.clients_max
    assert job.created_count == 2
    with translation.override("en"):
        message = audience.failure_message(job)
    assert message == (
        f"The workspace reached its limit of {in_workspace.clients_max} clients: the import stopped at line 5; "
        "the rows before it were imported."
    )


def test_client_form_refuses_a_new_client_at_the_limit(in_workspace, member_factory):
    from conftest import host_client

    Client.objects.create(email="first@example.com")
    in_workspace.clients_max = Client.objects.count()
    in_workspace.save(update_fields=["clients_max"])
    editor = member_factory(in_workspace, role="editor")
    response = host_client(in_workspace.host, editor).post("/clients/new/", {"email": "x@example.com"})
    assert response.status_code != 302
    assert "это предел" in response.content.decode()  # "… clients; ask a manager to raise it", in Russian
    assert not Client.objects.filter(email="x@example.com").exists()

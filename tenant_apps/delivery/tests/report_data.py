"""Delivery records built directly with the ORM, for the report and unsubscribe tests.

Call inside a workspace schema (the `in_workspace` fixture or schema_context).
"""

import uuid
from datetime import timedelta

from django.utils import timezone

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery.models import Attempt, Delivery, Run


def unique_email(prefix="client"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def make_client(email=None, **fields):
    return Client.objects.create(email=email or unique_email(), **fields)


def make_mailing(name=None, **fields):
    message = Message.objects.create(subject="Hello {{ name }}", body_text="Hi! {{ unsubscribe_url }}")
    now = timezone.now()
    fields = {"start_at": now - timedelta(days=1), "end_at": now + timedelta(days=30), **fields}
    return Mailing.objects.create(name=name or f"Mailing {uuid.uuid4().hex[:8]}", message=message, **fields)


def make_run(mailing, scheduled_for=None, **fields):
    scheduled_for = scheduled_for or timezone.now()
    return Run.objects.create(
        mailing=mailing, scheduled_for=scheduled_for, deadline=scheduled_for + timedelta(days=1), **fields
    )


def make_delivery(run, status=Delivery.Status.PENDING, client=None, finished_at=None):
    client = client or make_client()
    if finished_at is None and status in (Delivery.Status.SENT, Delivery.Status.FAILED):
        finished_at = timezone.now()
    return Delivery.objects.create(run=run, client=client, email=client.email, status=status, finished_at=finished_at)


def make_attempt(delivery, at=None, status=Attempt.Status.SUCCESS, smtp_code=None, response=""):
    if smtp_code is None:
        smtp_code = 250 if status == Attempt.Status.SUCCESS else 550
    return Attempt.objects.create(
        delivery=delivery,
        at=at or timezone.now(),
        status=status,
        smtp_code=smtp_code,
        response=response or ("2.0.0 Ok: queued" if status == Attempt.Status.SUCCESS else "5.1.1 User unknown"),
        permanent=status == Attempt.Status.FAILURE and smtp_code >= 500,
    )

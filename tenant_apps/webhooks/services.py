"""Endpoints: create (the secret is shown once), change, delete, the test event, and disabling a failing one.

Runs inside the workspace's schema.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from saas.links import absolute_url
from saas.mail import queue_email
from tenant_apps.delivery.pausing import workspace_owners
from tenant_apps.delivery.scheduling import current_workspace

from . import events, signing
from .models import TEST_EVENT, Attempt, Endpoint

log = logging.getLogger(__name__)


def create_endpoint(url: str, event_types: list[str], description: str = "") -> tuple[Endpoint, str]:
    """A new endpoint and its secret: the only time the secret is handed out in full."""
    secret = signing.new_secret()
    endpoint = Endpoint.objects.create(url=url, event_types=event_types, description=description, secret=secret)
    events.subscriptions_changed()
    return endpoint, secret


def update_endpoint(endpoint: Endpoint, *, url: str, event_types: list[str], description: str) -> Endpoint:
    endpoint.url, endpoint.event_types, endpoint.description = url, event_types, description
    endpoint.save(update_fields=["url", "event_types", "description"])
    events.subscriptions_changed()
    return endpoint


def delete_endpoint(endpoint: Endpoint) -> None:
    endpoint.delete()
    events.subscriptions_changed()


def enable_endpoint(endpoint: Endpoint) -> None:
    """Back on after a fix: its failing period starts afresh and what waited goes out."""
    Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=True, disabled_reason="", failing_since=None)
    events.subscriptions_changed()
    schema, pk = connection.schema_name, endpoint.pk
    transaction.on_commit(lambda: events.wake(schema, [pk]))


def send_test_event(endpoint: Endpoint) -> None:
    """Queue a `webhook.test` event to this endpoint alone; the delivery log shows how it went."""
    payload = {"message": "Test event from Rassylka", "endpoint_id": endpoint.pk}
    events.emit(TEST_EVENT, [payload], endpoint_ids=[endpoint.pk])


def delivery_log(endpoint: Endpoint) -> QuerySet:
    return Attempt.objects.filter(endpoint=endpoint).select_related("message").order_by("-at", "-id")


def disable_for_failures(endpoint: Endpoint) -> bool:
    """Disable an endpoint that kept failing and email the owners; True if this call disabled it."""
    hours = settings.WEBHOOKS_DISABLE_AFTER_HOURS
    reason = gettext("Every request failed for %(hours)s hours.") % {"hours": f"{hours:g}"}
    disabled = Endpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_reason=reason[:300]
    )
    if not disabled:
        return False
    endpoint.is_enabled = False
    events.subscriptions_changed()
    workspace = current_workspace()
    log.warning("webhook endpoint %s in %s disabled after %s h of failures", endpoint.pk, workspace, hours)
    for owner in workspace_owners(workspace):
        queue_email(disabled_email(owner, workspace, endpoint))
    return True


def disabled_email(owner, workspace, endpoint: Endpoint) -> EmailMessage:
    path = reverse("webhooks:detail", args=[endpoint.pk], urlconf=settings.ROOT_URLCONF)
    context = {
        "workspace": workspace,
        "endpoint": endpoint,
        "hours": f"{settings.WEBHOOKS_DISABLE_AFTER_HOURS:g}",
        "url": absolute_url(path, host=workspace.host),
        "since": timezone.localtime(endpoint.failing_since) if endpoint.failing_since else None,
    }
    with translation.override(getattr(owner, "language", None) or settings.LANGUAGE_CODE):
        subject = render_to_string("tenant/webhooks/email/disabled_subject.txt", context).strip()
        body = render_to_string("tenant/webhooks/email/disabled_message.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])

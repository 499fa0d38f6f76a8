"""The webhook pages: owners manage, others read; the secret is shown once; bad input changes nothing."""

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from conftest import host_client
from saas.factories import make_manager
from tenant_apps.senders.crypto import decrypt
from tenant_apps.webhooks import services
from tenant_apps.webhooks.models import Attempt, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(workspace, member_factory):
    def client_as(role):
        user = make_manager() if role == "manager" else member_factory(workspace, role=role)
        return host_client(workspace.host, user)

    return client_as


def endpoint_in(workspace, url="https://127.0.0.1:9/hook", types=("delivery.sent",)):
    with schema_context(workspace.schema_name):
        return services.create_endpoint(url, list(types))


def test_owner_adds_an_endpoint_and_sees_its_secret_exactly_once(workspace, as_role, receiver):
    owner = as_role("owner")

    response = owner.post(
        reverse("webhooks:add"),
        {"url": receiver.url(), "event_types": ["delivery.sent", "run.completed"], "description": "CRM"},
        follow=True,
    )

    secret = response.context["new_secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    with schema_context(workspace.schema_name):
        endpoint = Endpoint.objects.get()
        assert endpoint.event_types == ["delivery.sent", "run.completed"] and endpoint.secret == secret
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM webhooks_endpoint WHERE id = %s", [endpoint.pk])
            stored = cursor.fetchone()[0]
    assert secret not in stored and decrypt(stored) == secret, "encrypted at rest with the senders' keys"
    again = owner.get(reverse("webhooks:detail", args=[endpoint.pk]))
    assert secret not in again.content.decode()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/hook", "https://"),
        ("https://10.0.0.1/hook", "private or reserved"),
        ("https://169.254.169.254/", "private or reserved"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_an_address_that_may_not_be_called_is_refused_with_a_reason(workspace, as_role, url, message):
    response = as_role("owner").post(
        reverse("webhooks:add"), {"url": url, "event_types": ["delivery.sent"]}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400 and message in response.content.decode()
    with schema_context(workspace.schema_name):
        assert not Endpoint.objects.exists()


def test_choosing_no_event_is_refused(workspace, as_role):
    response = as_role("owner").post(reverse("webhooks:add"), {"url": "https://127.0.0.1:9/"})

    assert response.status_code == 400
    with schema_context(workspace.schema_name):
        assert not Endpoint.objects.exists()


def test_owner_changes_the_events_and_the_secret_stays(workspace, as_role):
    endpoint, secret = endpoint_in(workspace)

    as_role("owner").post(
        reverse("webhooks:edit", args=[endpoint.pk]),
        {"url": endpoint.url, "event_types": ["client.unsubscribed"], "description": "x"},
    )

    with schema_context(workspace.schema_name):
        endpoint.refresh_from_db()
    assert endpoint.event_types == ["client.unsubscribed"] and endpoint.secret == secret


def test_the_test_button_sends_a_signed_test_event_and_the_log_shows_it(
    workspace, as_role, receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = endpoint_in(workspace, url=receiver.url())
    owner = as_role("owner")

    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("webhooks:test", args=[endpoint.pk]))
    page = owner.get(reverse("webhooks:detail", args=[endpoint.pk]))

    (request,) = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["events"][0]["type"] == "webhook.test"
    (row,) = page.context["page"].object_list
    assert row.succeeded and row.status_code == 200
    assert 'data-testid="delivery-log"' in page.content.decode()


def test_the_delivery_log_is_paginated(workspace, as_role):
    from django.utils import timezone

    from tenant_apps.webhooks.models import Message

    endpoint, _secret = endpoint_in(workspace)
    with schema_context(workspace.schema_name):
        now = timezone.now()
        message = Message.objects.create(
            endpoint=endpoint, webhook_id="msg_1", body="{}", event_count=1, next_attempt_at=now, created=now
        )
        Attempt.objects.bulk_create(
            [Attempt(endpoint=endpoint, message=message, at=now, succeeded=False, status_code=500) for _ in range(60)]
        )

    viewer = as_role("viewer")
    first = viewer.get(reverse("webhooks:detail", args=[endpoint.pk]))
    second = viewer.get(reverse("webhooks:detail", args=[endpoint.pk]), {"page": 2})

    assert len(first.context["page"].object_list) == 50 and len(second.context["page"].object_list) == 10


@pytest.mark.parametrize("role", ["viewer", "editor", "manager"])
def test_others_read_but_cannot_change_test_or_delete(workspace, as_role, role):
    endpoint, _secret = endpoint_in(workspace)
    client = as_role(role)

    assert client.get(reverse("webhooks:index")).status_code == 200
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk]))
    assert page.status_code == 200 and 'data-testid="send-test"' not in page.content.decode()
    assert client.post(reverse("webhooks:delete", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhooks:test", args=[endpoint.pk])).status_code == 404
    with schema_context(workspace.schema_name):
        assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_a_member_of_another_workspace_gets_404(workspace, other_workspace, member_factory):
    endpoint, _secret = endpoint_in(workspace)
    stranger = host_client(workspace.host, member_factory(other_workspace, role="owner"))

    assert stranger.get(reverse("webhooks:index")).status_code == 404
    assert stranger.get(reverse("webhooks:detail", args=[endpoint.pk])).status_code == 404


def test_owner_enables_a_disabled_endpoint(workspace, as_role):
    endpoint, _secret = endpoint_in(workspace)
    with schema_context(workspace.schema_name):
        Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False, disabled_reason="failing")

    as_role("owner").post(reverse("webhooks:enable", args=[endpoint.pk]))

    with schema_context(workspace.schema_name):
        endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None

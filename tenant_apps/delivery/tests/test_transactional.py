"""Transactional messages through the engine, against PostgreSQL and an SMTP server over TCP."""

import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from saas import factories
from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery.models import Attempt, Delivery, Run, TransactionalMessage, TransactionalStream
from tenant_apps.delivery.transactional import Kind, send_transactional
from tenant_apps.feedback.models import Suppression


def send(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return send_transactional(**kwargs)


def test_a_transactional_message_is_sent_at_once_with_its_own_content_and_logged(
    in_workspace, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    client = factories.make_client("anna@example.com", full_name="Анна")

    delivery = send(
        django_capture_on_commit_callbacks,
        email=client.email,
        client=client,
        subject="Код для {{ name }}",
        body_text="Ваш код: {{ code }}",
        body_html="<p>Код: {{ code }}</p>",
        values={"code": "<1234>"},
    )

    (rcpt, message, _session) = smtp_server.messages[0]
    assert rcpt == "anna@example.com" and message["Subject"] == "Код для Анна"
    assert "Ваш код: <1234>" in message.get_body(("plain",)).get_content()
    assert "<p>Код: &lt;1234&gt;</p>" in message.get_body(("html",)).get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["From"].addresses[0].display_name == "Рассылка Acme"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.transactional.client == client
    assert Attempt.objects.get(delivery=delivery).smtp_code == 250


def test_the_stream_run_is_opened_again_for_the_next_message(
    in_workspace, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    first = send(django_capture_on_commit_callbacks, email="a@example.com", subject="1", body_text="one")
    run = Run.objects.get(pk=first.run_id)
    assert run.status == Run.Status.DONE

    second = send(django_capture_on_commit_callbacks, email="b@example.com", subject="2", body_text="two")

    assert second.run_id == first.run_id
    assert smtp_server.recipients == ["a@example.com", "b@example.com"]


def test_the_same_idempotency_key_gives_back_the_first_delivery_and_sends_once(
    in_workspace, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    ask = {"email": "a@example.com", "subject": "Hi", "body_text": "Hello", "idempotency_key": "order-1"}

    first = send(django_capture_on_commit_callbacks, **ask)
    again = send(django_capture_on_commit_callbacks, **ask)
    other_kind = send(django_capture_on_commit_callbacks, **ask, kind=Kind.WELCOME)

    assert again.pk == first.pk and other_kind.pk != first.pk
    assert smtp_server.recipients == ["a@example.com", "a@example.com"]


def test_a_suppressed_address_gets_nothing_and_a_confirmation_ignores_an_old_unsubscription(
    in_workspace, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    Suppression.objects.create(email="bounced@example.com", reason=Suppression.Reason.HARD_BOUNCE)
    gone = factories.make_client("gone@example.com", is_subscribed=False)

    bounced = send(django_capture_on_commit_callbacks, email="Bounced@example.com", subject="s", body_text="t")
    confirm = send(
        django_capture_on_commit_callbacks,
        email=gone.email,
        client=gone,
        subject="s",
        body_text="t",
        kind="confirmation",
    )
    welcome = send(
        django_capture_on_commit_callbacks, email=gone.email, client=gone, subject="s", body_text="t", kind="welcome"
    )

    statuses = {d.pk: d.status for d in Delivery.objects.filter(pk__in=[bounced.pk, confirm.pk, welcome.pk])}
    assert statuses == {bounced.pk: "skipped", confirm.pk: "sent", welcome.pk: "skipped"}
    assert smtp_server.recipients == ["gone@example.com"]
    (_rcpt, message, _session) = smtp_server.messages[0]
    assert message["List-Unsubscribe"] is None, "a confirmation offers no unsubscription"


def test_system_mailings_are_never_scheduled_nor_active(
    in_workspace, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    send(django_capture_on_commit_callbacks, email="a@example.com", subject="s", body_text="t")

    stream = TransactionalStream.objects.get(kind=Kind.API)
    assert not Mailing.objects.active().filter(pk=stream.mailing_id).exists()
    assert stream.mailing.status == Mailing.Status.CREATED
    from tenants.models import ScheduleEntry

    assert not ScheduleEntry.objects.filter(mailing_id=stream.mailing_id).exists()


@pytest.fixture
def committed_streams(workspace):
    """The test's threads commit; what they made in acme's schema is deleted afterwards."""
    yield

    def clean():
        with schema_context(workspace.schema_name):
            for stream in TransactionalStream.objects.all():
                stream.mailing.delete()
                stream.mailing.message.delete()
        connection.close()

    cleaner = threading.Thread(target=clean)
    cleaner.start()
    cleaner.join()


def test_two_concurrent_identical_requests_make_one_delivery_and_one_message(
    workspace, engine_settings, smtp_server, committed_streams
):
    engine_settings(smtp_server.port)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def request():
        try:
            with schema_context(workspace.schema_name):
                barrier.wait()
                delivery = send_transactional(
                    email="twice@example.com", subject="Receipt", body_text="Paid", idempotency_key="pay-77"
                )
                results.append(delivery.pk)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(results) == 2 and results[0] == results[1]
    with schema_context(workspace.schema_name):
        assert TransactionalMessage.objects.filter(idempotency_key="pay-77").count() == 1
        assert Delivery.objects.get(pk=results[0]).status == Delivery.Status.SENT
    assert smtp_server.recipients == ["twice@example.com"]


def test_the_system_mailing_shows_in_no_list_page_or_counter_of_the_workspace(
    in_workspace, workspace_client, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from tenant_apps.campaigns.models import Message
    from tenant_apps.campaigns.services import dashboard_counts

    engine_settings(smtp_server.port)
    send(django_capture_on_commit_callbacks, email="a@example.com", subject="s", body_text="t")
    stream = TransactionalStream.objects.get(kind=Kind.API)
    workspace_client.force_login(factories.make_member(in_workspace, "owner"))

    for name in ("campaigns:mailing_list", "campaigns:message_list", "delivery:reports"):
        page = workspace_client.get(reverse(name))
        assert page.status_code == 200 and "[system]" not in page.content.decode(), name
    assert workspace_client.get(reverse("campaigns:mailing_detail", args=[stream.mailing_id])).status_code == 404
    assert workspace_client.get(reverse("campaigns:message_edit", args=[stream.mailing.message_id])).status_code == 404
    assert workspace_client.get(reverse("delivery:mailing_report", args=[stream.mailing_id])).status_code == 404
    counts = dashboard_counts()
    assert counts["mailings"] == 0 and counts["messages"] == 0
    assert not Mailing.objects.user_made().exists() and not Message.objects.user_made().exists()

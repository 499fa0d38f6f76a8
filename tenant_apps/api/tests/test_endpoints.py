"""Lists, custom fields, messages, mailings, runs, deliveries, attempts and transactional sends over the API;
and a key of one workspace reaching nothing of another's."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from saas import factories
from tenant_apps.api.models import ApiKey
from tenant_apps.audience.models import Client, CustomField, MailingList
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery.models import Delivery, TransactionalMessage, TransactionalStream
from tenants.models import ScheduleEntry

from .conftest import Api, make_key

pytestmark = pytest.mark.django_db


def test_lists_crud_with_counts_and_the_forms_rules(workspace, api):
    created = api.post("/lists/", {"name": "News", "is_public": True})
    assert created.status_code == 201 and created.json()["subscribed_count"] == 0
    list_id = created.json()["id"]

    assert "name" in api.post("/lists/", {"name": " news "}).json()["errors"]  # taken, ignoring case
    assert api.patch(f"/lists/{list_id}/", {"description": "Weekly"}).json()["name"] == "News"
    assert "News" in [item["name"] for item in api.get("/lists/").json()["results"]]
    assert api.delete(f"/lists/{list_id}/").status_code == 204


def test_a_list_used_by_a_mailing_is_not_deleted(workspace, api):
    with schema_context(workspace.schema_name):
        mailing_list = MailingList.objects.create(name="In use")
        mailing = factories.make_mailing(audience=Mailing.Audience.LISTS)
        mailing.lists.set([mailing_list])

    response = api.delete(f"/lists/{mailing_list.pk}/")

    assert response.status_code == 409 and response.json()["detail"]


def test_custom_fields_crud_key_and_type_fixed(workspace, api):
    created = api.post("/fields/", {"key": "plan", "label": "Plan", "type": "choice", "choices": ["free", "pro"]})
    assert created.status_code == 201, created.json()
    field_id = created.json()["id"]

    assert "key" in api.post("/fields/", {"key": "Bad Key", "label": "x", "type": "text"}).json()["errors"]
    assert "choices" in api.post("/fields/", {"key": "tier", "label": "T", "type": "choice"}).json()["errors"]
    assert "type" in api.patch(f"/fields/{field_id}/", {"type": "text"}).json()["errors"]
    assert api.patch(f"/fields/{field_id}/", {"label": "Tariff"}).json()["choices"] == ["free", "pro"]
    assert api.delete(f"/fields/{field_id}/").status_code == 204
    with schema_context(workspace.schema_name):
        assert not CustomField.objects.exists()


def test_messages_crud_with_placeholder_check_and_in_use_refusal(workspace, api):
    created = api.post(
        "/messages/", {"subject": "Hi {{ name }}", "body_text": "News", "body_html": "<p onclick=x>Hi</p>"}
    )
    assert created.status_code == 201
    assert "onclick" not in created.json()["body_html"]
    assert "subject" in api.post("/messages/", {"subject": "{{ nope }}", "body_text": "x"}).json()["errors"]

    with schema_context(workspace.schema_name):
        factories.make_mailing(message=Message.objects.get(pk=created.json()["id"]))
    assert api.delete(f"/messages/{created.json()['id']}/").status_code == 409


def test_mailing_create_schedule_pause_resume_hands_over_to_the_engine(workspace, api):
    factories.make_client(workspace=workspace)
    message = factories.make_message(workspace=workspace)
    start = timezone.now() + timedelta(days=1)

    created = api.post(
        "/mailings/",
        {
            "name": "Weekly",
            "message": message.pk,
            "start_at": start.isoformat(),
            "end_at": (start + timedelta(days=30)).isoformat(),
            "periodicity": "weekly",
        },
    )
    assert created.status_code == 201, created.json()
    mailing_id = created.json()["id"]
    with schema_context(workspace.schema_name):
        assert ScheduleEntry.objects.filter(mailing_id=mailing_id).exists()  # mailing_changed was called

    later = start + timedelta(days=2)
    scheduled = api.post(
        f"/mailings/{mailing_id}/schedule/",
        {"start_at": later.isoformat(), "end_at": (later + timedelta(days=1)).isoformat()},
    )
    assert scheduled.status_code == 200 and scheduled.json()["periodicity"] == "weekly"
    assert api.post(f"/mailings/{mailing_id}/pause/").json()["is_paused"] is True
    with schema_context(workspace.schema_name):
        assert not ScheduleEntry.objects.filter(mailing_id=mailing_id).exists()
    assert api.post(f"/mailings/{mailing_id}/resume/").json()["is_paused"] is False
    bad = api.post(f"/mailings/{mailing_id}/schedule/", {"start_at": later.isoformat(), "end_at": start.isoformat()})
    assert "end_at" in bad.json()["errors"]
    assert api.delete(f"/mailings/{mailing_id}/").status_code == 204


def test_mailing_refused_by_the_forms_rules(workspace, api):
    message = factories.make_message(workspace=workspace)
    now = timezone.now()

    response = api.post(
        "/mailings/",
        {
            "name": "x",
            "message": message.pk,
            "audience": "selected",
            "start_at": now.isoformat(),
            "end_at": (now + timedelta(days=1)).isoformat(),
        },
    )

    assert "clients" in response.json()["errors"]


def test_runs_deliveries_and_attempts_are_the_reports_data(workspace, api):
    with schema_context(workspace.schema_name):
        mailing = factories.make_mailing()
        run = factories.make_run(mailing)
        sent = factories.make_delivery(run, "sent", finished_at=timezone.now())
        failed = factories.make_delivery(run, "failed", finished_at=timezone.now())
        factories.make_attempt(sent, status="success")
        factories.make_attempt(failed, status="failure")
        factories.make_attempt(failed, status="failure")

    runs = api.get(f"/mailings/{mailing.pk}/runs/").json()["results"]
    assert [(r["id"], r["total"], r["sent"], r["failed"]) for r in runs] == [(run.pk, 2, 1, 1)]
    assert api.get(f"/runs/{run.pk}/").json()["sent"] == 1

    deliveries = api.get(f"/runs/{run.pk}/deliveries/", {"status": "failed"}).json()["results"]
    assert [d["id"] for d in deliveries] == [failed.pk]
    assert api.get(f"/runs/{run.pk}/deliveries/", {"status": "nope"}).status_code == 400

    first = api.get(f"/runs/{run.pk}/attempts/", {"limit": 2}).json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1 and second["next"] is None
    failures = api.get(f"/runs/{run.pk}/attempts/", {"status": "failure"}).json()["results"]
    assert {a["delivery"] for a in failures} == {failed.pk}
    assert api.get(f"/runs/{run.pk}/attempts/", {"before": "junk"}).status_code == 400
    assert api.get(f"/deliveries/{sent.pk}/").json()["status"] == "sent"


def test_transactional_send_answers_with_the_delivery_at_once_and_sends_through_the_engine(
    workspace, api, engine_settings, smtp_server, django_capture_on_commit_callbacks
):
    engine_settings(smtp_server.port)
    factories.make_client("anna@example.com", workspace=workspace, full_name="Anna")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/send/",
            {
                "to": "anna@example.com",
                "subject": "Code for {{ name }}",
                "body_text": "{{ code }}",
                "values": {"code": "1234"},
            },
        )

    assert response.status_code == 202, response.json()
    delivery_id = response.json()["delivery"]
    assert api.get(f"/deliveries/{delivery_id}/").json()["status"] == "sent"
    (_rcpt, message, _session) = smtp_server.messages[0]
    assert message["Subject"] == "Code for Anna" and "1234" in message.get_body(("plain",)).get_content()


def test_transactional_send_of_a_saved_message_and_bad_requests(workspace, api):
    message = factories.make_message(workspace=workspace)

    assert api.post("/send/", {"to": "a@example.com", "message": message.pk}).status_code == 202
    assert api.post("/send/", {"to": "a@example.com"}).status_code == 400
    assert api.post("/send/", {"to": "a@example.com", "message": message.pk, "subject": "x"}).status_code == 400
    assert "message" in api.post("/send/", {"to": "a@example.com", "message": 999999}).json()["errors"]
    assert "to" in api.post("/send/", {"to": "nobody", "subject": "s", "body_text": "b"}).json()["errors"]


@pytest.fixture
def committed(workspace):
    """What the test's threads commit in acme (a key, the stream, its deliveries) is deleted afterwards."""
    yield

    def clean():
        with schema_context(workspace.schema_name):
            ApiKey.objects.all().delete()
            for stream in TransactionalStream.objects.all():
                stream.mailing.delete()
                stream.mailing.message.delete()
        connection.close()

    cleaner = threading.Thread(target=clean)
    cleaner.start()
    cleaner.join()


def in_thread(function):
    """Run `function` in a thread of its own (its own connection: what it writes is committed)."""
    result = []

    def run():
        try:
            result.append(function())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result[0]


def test_two_concurrent_identical_sends_with_an_idempotency_key_send_one_message(
    workspace, engine_settings, smtp_server, committed
):
    engine_settings(smtp_server.port)
    secret = in_thread(lambda: make_key(workspace)[1])
    barrier = threading.Barrier(2)
    answers = []

    def request():
        api = Api(workspace.host, secret)
        barrier.wait()
        body = {"to": "twice@example.com", "subject": "Receipt", "body_text": "Paid"}
        answers.append(api.post("/send/", body, HTTP_IDEMPOTENCY_KEY="order-77"))

    threads = [threading.Thread(target=lambda: in_thread(request)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [202, 202]
    assert answers[0].json()["delivery"] == answers[1].json()["delivery"]
    with schema_context(workspace.schema_name):
        assert TransactionalMessage.objects.filter(idempotency_key="order-77").count() == 1
        assert Delivery.objects.get(pk=answers[0].json()["delivery"]).status == Delivery.Status.SENT
    assert smtp_server.recipients == ["twice@example.com"]


# --- two workspaces ---------------------------------------------------------------------------


@pytest.fixture
def globex_objects(other_workspace):
    """One of everything in globex, by the URL that reaches it."""
    with schema_context(other_workspace.schema_name):
        client = factories.make_client()
        mailing_list = MailingList.objects.create(name="Globex list")
        field = CustomField.objects.create(key="city", label="City")
        mailing = factories.make_mailing()
        run = factories.make_run(mailing)
        delivery = factories.make_delivery(run, "sent", client=client)
    return {
        "client": f"/clients/{client.pk}/",
        "list": f"/lists/{mailing_list.pk}/",
        "field": f"/fields/{field.pk}/",
        "message": f"/messages/{mailing.message_id}/",
        "mailing": f"/mailings/{mailing.pk}/",
        "run": f"/runs/{run.pk}/",
        "delivery": f"/deliveries/{delivery.pk}/",
        "_ids": {
            "client": client.pk,
            "list": mailing_list.pk,
            "mailing": mailing.pk,
            "run": run.pk,
            "message": mailing.message_id,
        },
    }


def test_a_key_of_acme_gets_404_for_everything_of_globex_on_its_own_host(workspace, globex_objects):
    """acme's schema has other rows (or none) under globex's ids: every URL of globex's objects is 404."""
    with schema_context(workspace.schema_name):
        # acme must not hold rows with the same ids, or the test would prove nothing.
        for model, key in ((MailingList, "list"), (Mailing, "mailing")):
            model.objects.filter(pk=globex_objects["_ids"][key]).delete()
        from tenant_apps.audience.models import Client
        from tenant_apps.delivery.models import Run

        Client.objects.filter(pk=globex_objects["_ids"]["client"]).delete()
        Run.objects.filter(pk=globex_objects["_ids"]["run"]).delete()
        Delivery.objects.all().delete()
        CustomField.objects.all().delete()
        Mailing.objects.filter(message_id=globex_objects["_ids"]["message"]).delete()
        Message.objects.filter(pk=globex_objects["_ids"]["message"]).delete()
    _key, secret = make_key(workspace)
    api = Api(workspace.host, secret)
    ids = globex_objects["_ids"]

    for name, path in globex_objects.items():
        if name == "_ids":
            continue
        assert api.get(path).status_code == 404, path
        if name not in ("run", "delivery"):
            assert api.patch(path, {}).status_code == 404, path
            assert api.delete(path).status_code == 404, path
    for path in (
        f"/clients/{ids['client']}/subscribe/",
        f"/mailings/{ids['mailing']}/pause/",
        f"/mailings/{ids['mailing']}/resume/",
    ):
        assert api.post(path, {"list": ids["list"]} if "subscribe" in path else None).status_code == 404, path
    for path in (
        f"/mailings/{ids['mailing']}/runs/",
        f"/runs/{ids['run']}/deliveries/",
        f"/runs/{ids['run']}/attempts/",
    ):
        assert api.get(path).status_code == 404, path
    assert api.get("/clients/", {"email": "nobody"}).json()["results"] == []


def test_a_key_of_acme_gets_nothing_of_globex_on_globex_host(workspace, other_workspace, globex_objects):
    _key, secret = make_key(workspace)
    api = Api(other_workspace.host, secret)

    for name, path in globex_objects.items():
        if name != "_ids":
            response = api.get(path)
            assert response.status_code == 404, path
            assert response["Content-Type"] == "application/problem+json"
    assert api.get("/clients/").status_code == 404
    assert api.post("/clients/", {"email": "x@example.com"}).status_code == 404
    with schema_context(other_workspace.schema_name):
        assert not Client.objects.filter(email="x@example.com").exists()

"""client.subscribed / client.unsubscribed for a list membership, with the list, from every path that changes one."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from saas import factories
from tenant_apps.api.tests.conftest import Api, make_key
from tenant_apps.audience import lists, services, subscriptions
from tenant_apps.audience.models import Client, ConsentRecord, ImportJob, MailingList, Membership, SubscriptionForm
from tenant_apps.delivery.unsubscribe import make_token, unsubscribe_client
from tenant_apps.webhooks import events
from tenant_apps.webhooks import services as webhooks
from tenant_apps.webhooks.models import OutboxEvent
from tenant_apps.webhooks.sender import send_endpoint

SUBSCRIBED, UNSUBSCRIBED = "client.subscribed", "client.unsubscribed"
VISITOR = subscriptions.Visitor(network="203.0.113.0", user_agent_family="Firefox", language="en")


@pytest.fixture
def news(in_workspace):
    webhooks.create_endpoint("https://127.0.0.1:9/hook", [SUBSCRIBED, UNSUBSCRIBED])
    return MailingList.objects.create(name="News", is_public=True, double_opt_in=False)


def emitted(event_type):
    return [row.payload for row in OutboxEvent.objects.filter(type=event_type).order_by("id")]


def on_list(mailing_list):
    return {"id": mailing_list.pk, "name": mailing_list.name}


def member(client, mailing_list, status):
    Membership.objects.create(mailing_list=mailing_list, client=client, status=status, changed_at=timezone.now())


def test_api_subscribe_and_unsubscribe_emit_one_event_each_with_the_list(news, workspace):
    client = factories.make_client("anna@example.com")
    _key, secret = make_key(workspace)
    api = Api(workspace.host, secret)

    for _twice in range(2):  # a second call changes nothing and emits nothing
        assert api.post(f"/clients/{client.pk}/subscribe/", {"list": news.pk}).status_code == 200
    for _twice in range(2):
        assert api.post(f"/clients/{client.pk}/unsubscribe/", {"list": news.pk}).status_code == 200
    connection.set_tenant(workspace)

    (joined,) = emitted(SUBSCRIBED)
    (left,) = emitted(UNSUBSCRIBED)
    assert joined["client_id"] == left["client_id"] == client.pk and joined["email"] == "anna@example.com"
    assert joined["list"] == left["list"] == on_list(news)


def test_an_unsubscribe_from_a_list_never_joined_emits_nothing(news):
    client = factories.make_client()

    lists.set_list_membership(client, news, subscribed=False)

    assert emitted(UNSUBSCRIBED) == []


def test_api_bulk_upsert_into_a_list_emits_for_the_clients_who_joined(news, workspace):
    factories.make_client("already@example.com")
    left = factories.make_client("left@example.com")
    member(Client.objects.get(email="already@example.com"), news, "subscribed")
    member(left, news, "unsubscribed")  # an import never re-subscribes someone who left
    _key, secret = make_key(workspace)
    rows = [{"email": email} for email in ("already@example.com", "left@example.com", "a@example.com", "b@example.com")]

    response = Api(workspace.host, secret).post("/clients/bulk/", {"list": news.pk, "clients": rows})
    connection.set_tenant(workspace)

    assert response.status_code == 200
    payloads = emitted(SUBSCRIBED)
    assert sorted(p["email"] for p in payloads if p["list"]) == ["a@example.com", "b@example.com"]
    assert all(p["list"] == on_list(news) for p in payloads if p["list"])


def test_api_bulk_upsert_emits_global_events_for_new_subscribers_and_changed_subscriptions(news, workspace):
    factories.make_client("stays@example.com")
    factories.make_client("leaves@example.com")
    factories.make_client("returns@example.com", is_subscribed=False)
    _key, secret = make_key(workspace)
    rows = [
        {"email": "stays@example.com", "full_name": "Same subscription"},
        {"email": "leaves@example.com", "is_subscribed": False},
        {"email": "returns@example.com", "is_subscribed": True},
        {"email": "new@example.com"},
        {"email": "new-but-out@example.com", "is_subscribed": False},
    ]

    response = Api(workspace.host, secret).post("/clients/bulk/", {"clients": rows})
    connection.set_tenant(workspace)

    assert response.status_code == 200
    joined = sorted(p["email"] for p in emitted(SUBSCRIBED) if p["list"] is None)
    left = sorted(p["email"] for p in emitted(UNSUBSCRIBED) if p["list"] is None)
    assert joined == ["new@example.com", "returns@example.com"]
    assert left == ["leaves@example.com"]


def test_a_bulk_join_costs_the_same_queries_for_2_or_200_clients(news):
    def queries_for(emails):
        services.insert_new_clients([{"email": e, "full_name": "", "comment": ""} for e in emails])
        with CaptureQueriesContext(connection) as queries:
            lists.subscribe_emails(news.pk, emails)
        return len(queries)

    few = queries_for([f"few{n}@example.com" for n in range(2)])
    many = queries_for([f"many{n}@example.com" for n in range(200)])

    assert few == many
    assert len([p for p in emitted(SUBSCRIBED) if p["list"]]) == 202


def test_a_bulk_join_without_a_listener_runs_only_the_insert(in_workspace):
    mailing_list = MailingList.objects.create(name="Quiet")
    factories.make_client("q@example.com")
    events.subscriptions()  # the cache is warm, as it is after the first batch

    with CaptureQueriesContext(connection) as queries:
        assert lists.subscribe_emails(mailing_list.pk, ["q@example.com"]) == 1

    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 1 and "RETURNING" not in statements[0]


def test_a_csv_import_into_a_list_emits_for_each_client_who_joined(news):
    factories.make_client("old@example.com")
    job = ImportJob.objects.create(
        file_name="t.csv", data=b"email\nold@example.com\nnew@example.com\n", target_list=news
    )

    services.run_import(job)

    joined = [p for p in emitted(SUBSCRIBED) if p["list"]]
    assert sorted(p["email"] for p in joined) == ["new@example.com", "old@example.com"]
    assert {p["list"]["name"] for p in joined} == {"News"}


def sign_up(form, email):
    return subscriptions.submit(form, subscriptions.SignUp(email=email), VISITOR)


def make_form(mailing_list):
    return SubscriptionForm.objects.create(mailing_list=mailing_list, title="News", consent_text="I agree.")


def test_a_form_without_double_opt_in_emits_the_subscription_with_the_list(news):
    form = make_form(news)

    assert sign_up(form, "form@example.com") == "subscribed"
    sign_up(form, "form@example.com")  # again: already subscribed, nothing new

    (payload,) = emitted(SUBSCRIBED)
    assert payload["email"] == "form@example.com" and payload["list"] == on_list(news)


def test_a_double_opt_in_list_emits_at_confirmation_not_at_sign_up(news):
    MailingList.objects.filter(pk=news.pk).update(double_opt_in=True)
    news.refresh_from_db()
    client = factories.make_client("doi@example.com")
    member(client, news, "unconfirmed")
    ConsentRecord.objects.create(client=client, mailing_list=news, requested_at=timezone.now(), consent_text="x")
    assert emitted(SUBSCRIBED) == []

    subscriptions.confirm(client, time.time())
    subscriptions.confirm(client, time.time())  # the link again: nothing left to confirm

    (payload,) = emitted(SUBSCRIBED)
    assert payload["client_id"] == client.pk and payload["list"] == on_list(news)


def test_preference_centre_changes_emit_per_list(news, workspace_client):
    offers = MailingList.objects.create(name="Offers", is_public=True)
    client = factories.make_client("pref@example.com")
    member(client, news, "subscribed")

    path = reverse("preferences", args=[make_token(connection.schema_name, client.pk)])
    workspace_client.post(path, {"lists": [offers.pk], "full_name": "Pref"})
    connection.set_tenant(client_workspace())

    (joined,) = emitted(SUBSCRIBED)
    (left,) = emitted(UNSUBSCRIBED)
    assert joined["list"] == on_list(offers) and left["list"] == on_list(news)
    assert joined["client_id"] == left["client_id"] == client.pk


def client_workspace():
    from tenants.models import Workspace

    return Workspace.objects.get(slug="acme")


def test_the_owners_client_page_emits_for_the_lists_it_changes(news, workspace):
    offers = MailingList.objects.create(name="Offers")
    client = factories.make_client("owner@example.com")
    member(client, news, "subscribed")
    from conftest import host_client

    http = host_client(workspace.host, factories.make_member(workspace, "owner"))

    response = http.post(
        reverse("audience:edit", args=[client.pk]),
        {"email": client.email, "full_name": "", "comment": "", "is_subscribed": "on", "lists": [offers.pk]},
    )
    connection.set_tenant(workspace)

    assert response.status_code == 302, response.content[:2000]
    (joined,) = emitted(SUBSCRIBED)
    (left,) = emitted(UNSUBSCRIBED)
    assert joined["list"] == on_list(offers) and left["list"] == on_list(news)


def test_global_changes_keep_list_null(news):
    client = factories.make_client("global@example.com")

    unsubscribe_client(client)

    (payload,) = emitted(UNSUBSCRIBED)
    assert payload["list"] is None and payload["client_id"] == client.pk


def test_list_events_arrive_signed_with_the_list(in_workspace, receiver):
    from standardwebhooks.webhooks import Webhook

    endpoint, secret = webhooks.create_endpoint(receiver.url(), [SUBSCRIBED])
    news = MailingList.objects.create(name="Новости")
    client = factories.make_client("signed@example.com")

    lists.set_list_membership(client, news, subscribed=True)
    send_endpoint(endpoint.pk)

    (request,) = receiver.requests
    (event,) = Webhook(secret).verify(request.body, request.headers)["events"]
    assert event["type"] == SUBSCRIBED
    assert event["data"]["list"] == {"id": news.pk, "name": "Новости"} and event["data"]["client_id"] == client.pk

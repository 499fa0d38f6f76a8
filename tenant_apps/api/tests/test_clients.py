"""Clients over the API: CRUD with the web form's rules, filters, cursor pages, upsert, lists, bulk upsert."""

import pytest
from django_tenants.utils import schema_context

from saas.factories import make_client
from tenant_apps.audience.models import Client, CustomField, MailingList, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(workspace):
    with schema_context(workspace.schema_name):
        return CustomField.objects.create(key="city", label="City", type=CustomField.Type.TEXT)


@pytest.fixture
def age(workspace):
    with schema_context(workspace.schema_name):
        return CustomField.objects.create(key="age", label="Age", type=CustomField.Type.NUMBER)


@pytest.fixture
def newsletter(workspace):
    with schema_context(workspace.schema_name):
        return MailingList.objects.create(name="Newsletter")


def test_create_get_update_delete_a_client(workspace, api, city, newsletter):
    created = api.post(
        "/clients/",
        {"email": "Ann@Example.com", "full_name": "Ann", "fields": {"city": "Kazan"}, "lists": [newsletter.pk]},
    )
    assert created.status_code == 201, created.json()
    client = created.json()
    assert client["fields"] == {"city": "Kazan"} and client["lists"] == [newsletter.pk]

    assert api.get(f"/clients/{client['id']}/").json()["email"] == "Ann@Example.com"
    changed = api.patch(f"/clients/{client['id']}/", {"comment": "VIP"})
    assert changed.status_code == 200
    assert changed.json()["comment"] == "VIP" and changed.json()["fields"] == {"city": "Kazan"}
    assert changed.json()["lists"] == [newsletter.pk]  # left out: kept

    assert api.delete(f"/clients/{client['id']}/").status_code == 204
    assert api.get(f"/clients/{client['id']}/").status_code == 404


def test_the_web_forms_rules_apply(workspace, api, age):
    make_client("taken@example.com", workspace=workspace)

    taken = api.post("/clients/", {"email": "TAKEN@example.com"})
    wrong_type = api.post("/clients/", {"email": "x@example.com", "fields": {"age": "old"}})
    unknown = api.post("/clients/", {"email": "x@example.com", "fields": {"shoe": 42}})

    assert "email" in taken.json()["errors"]
    assert "is not a number" in wrong_type.json()["errors"]["fields.age"][0]
    assert "fields.shoe" in unknown.json()["errors"]
    with schema_context(workspace.schema_name):
        assert not Client.objects.filter(email="x@example.com").exists()


def test_list_filters_and_cursor_pages(workspace, api, city, newsletter):
    with schema_context(workspace.schema_name):
        clients = [make_client(f"c{i}@example.com", fields={"city": "Kazan" if i % 2 else "Omsk"}) for i in range(5)]
        Membership.objects.create(mailing_list=newsletter, client=clients[0], changed_at=clients[0].created)

    first = api.get("/clients/", {"limit": 2}).json()
    second = api.get(first["next"]).json()
    assert [c["email"] for c in first["results"] + second["results"]] == [f"c{i}@example.com" for i in range(4)]

    assert [c["email"] for c in api.get("/clients/", {"email": "C3@EXAMPLE.COM"}).json()["results"]] == [
        "c3@example.com"
    ]
    assert [c["email"] for c in api.get("/clients/", {"list": newsletter.pk}).json()["results"]] == ["c0@example.com"]
    kazan = api.get("/clients/", {"fields.city": "Kazan"}).json()["results"]
    assert [c["email"] for c in kazan] == ["c1@example.com", "c3@example.com"]
    later = api.get("/clients/", {"updated_since": clients[4].updated.isoformat()}).json()["results"]
    assert [c["email"] for c in later] == ["c4@example.com"]
    assert api.get("/clients/", {"updated_since": "yesterday"}).status_code == 400
    assert api.get("/clients/", {"fields.shoe": "1"}).status_code == 400


def test_upsert_by_email_creates_then_updates(workspace, api):
    first = api.post("/clients/upsert/", {"email": "bob@example.com", "full_name": "Bob"})
    second = api.post("/clients/upsert/", {"email": "BOB@example.com", "comment": "again"})

    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["full_name"] == "Bob" and second.json()["comment"] == "again"


def test_subscribe_and_unsubscribe_to_a_list(workspace, api, newsletter):
    client = make_client(workspace=workspace)

    subscribed = api.post(f"/clients/{client.pk}/subscribe/", {"list": newsletter.pk})
    unsubscribed = api.post(f"/clients/{client.pk}/unsubscribe/", {"list": newsletter.pk})

    assert subscribed.json()["lists"] == [newsletter.pk]
    assert unsubscribed.json()["lists"] == []
    with schema_context(workspace.schema_name):
        membership = Membership.objects.get(client_id=client.pk)
    assert membership.status == "unsubscribed" and membership.source == "api"
    assert api.post(f"/clients/{client.pk}/subscribe/", {"list": 999999}).status_code == 400


def test_bulk_upsert_applies_good_rows_and_refuses_hostile_ones_with_reasons(workspace, api, age, newsletter):
    make_client("old@example.com", workspace=workspace, full_name="Old name", comment="kept")
    rows = [
        {"email": "new@example.com", "full_name": "New", "fields": {"age": "42"}},  # 0 created
        {"email": "OLD@example.com", "full_name": "Renamed"},  # 1 updated, comment kept
        {"email": "not-an-email"},  # 2
        {"email": "nul\x00@example.com"},  # 3
        {"email": "long@example.com", "full_name": "x" * 201},  # 4
        {"email": "field@example.com", "shoe_size": 42},  # 5 unknown field
        {"email": "type@example.com", "fields": {"age": "old"}},  # 6 wrong type
        {"email": "NEW@example.com"},  # 7 duplicate of 0
        "just a string",  # 8
        {"email": 42},  # 9
        {"email": "custom@example.com", "fields": {"nope": 1}},  # 10 unknown custom field
        {"email": "deep@example.com", "fields": {"age": {"$gt": 1}}},  # 11 not a scalar
    ]

    response = api.post("/clients/bulk/", {"clients": rows, "list": newsletter.pk})

    assert response.status_code == 200, response.json()
    result = response.json()
    assert (result["created"], result["updated"], result["refused"]) == (1, 1, 10)
    refused = {row["index"]: row["reason"] for row in result["refused_rows"]}
    assert sorted(refused) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "row 0" in refused[7] and "shoe_size" in refused[5] and "Age" in refused[6]
    with schema_context(workspace.schema_name):
        new = Client.objects.get(email="new@example.com")
        old = Client.objects.get(email="old@example.com")
        assert new.fields == {"age": 42}
        assert (old.full_name, old.comment) == ("Renamed", "kept")
        assert Membership.objects.filter(mailing_list=newsletter).count() == 2
        assert Client.objects.count() == 2


def test_bulk_upsert_is_limited_to_10000_rows(api):
    response = api.post("/clients/bulk/", {"clients": [{"email": f"a{i}@example.com"} for i in range(10_001)]})

    assert response.status_code == 400
    assert "clients" in response.json()["errors"]


def test_bulk_upsert_respects_the_client_limit(workspace, api):
    workspace.clients_max = 1
    workspace.save(update_fields=["clients_max"])

    result = api.post("/clients/bulk/", {"clients": [{"email": "a@example.com"}, {"email": "b@example.com"}]}).json()

    assert (result["created"], result["refused"]) == (1, 1)
    assert result["refused_rows"][0]["index"] == 1

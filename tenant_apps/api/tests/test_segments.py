"""Segments over the API (CRUD, count, preview) and the clients list filtered by a segment."""

import pytest
from django_tenants.utils import schema_context

from saas import factories
from tenant_apps.audience.models import CustomField, MailingList, Membership, Segment
from tenant_apps.campaigns.models import Mailing

from .conftest import Api, make_key

pytestmark = pytest.mark.django_db

GMAIL = {"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": "@gmail."}]}


def make_segment(workspace, name="Gmail", definition=GMAIL):
    from tenant_apps.audience import segments

    with schema_context(workspace.schema_name):
        return segments.save_segment(Segment(), name, definition)


def test_segments_crud_with_the_builders_rules(workspace, api):
    created = api.post("/segments/", {"name": "Gmail", "definition": GMAIL})
    assert created.status_code == 201, created.json()
    segment_id = created.json()["id"]
    assert created.json()["definition"]["conditions"][0]["value"] == "@gmail."

    assert "name" in api.post("/segments/", {"name": " gmail ", "definition": GMAIL}).json()["errors"]  # taken
    renamed = api.patch(f"/segments/{segment_id}/", {"name": "Gmail users"})
    assert renamed.status_code == 200 and renamed.json()["definition"] == created.json()["definition"]
    assert api.get(f"/segments/{segment_id}/").json()["name"] == "Gmail users"
    assert [item["id"] for item in api.get("/segments/").json()["results"]] == [segment_id]
    assert api.delete(f"/segments/{segment_id}/").status_code == 204
    assert api.get(f"/segments/{segment_id}/").status_code == 404


@pytest.mark.parametrize(
    "definition,message",
    [
        ({"match": "all", "conditions": [{"kind": "field", "field": "nope", "op": "equals", "value": 1}]}, "field"),
        ({"match": "all", "conditions": [{"kind": "list", "list": 999999, "op": "subscribed"}]}, "list"),
        ({"match": "all", "conditions": []}, "at least one condition"),
        ({"match": "both", "conditions": [{"kind": "email", "op": "equals", "value": "a@b.c"}]}, "all or any"),
        ("not an object", "expected form"),
        ({"match": "all", "conditions": [{"kind": "history", "op": "received", "mailing": 2**70}]}, "mailing"),
    ],
)
def test_a_bad_definition_is_refused_with_what_is_wrong_and_nothing_saved(workspace, api, definition, message):
    response = api.post("/segments/", {"name": "Bad", "definition": definition})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]["definition"]
    assert any(message in error for error in errors), errors
    with schema_context(workspace.schema_name):
        assert not Segment.objects.exists()


def test_a_number_too_large_for_any_type_is_a_field_error_not_a_crash(workspace, api):
    condition = '{"kind": "list", "list": 1e400, "op": "subscribed"}'  # json.dumps would write Infinity
    body = '{"name": "Huge", "definition": {"match": "all", "conditions": [' + condition + "]}}"

    response = api.client.post("/api/v1/segments/", body, content_type="application/json", **api.headers)

    assert response.status_code == 400
    assert response.json()["errors"]["definition"]


def test_a_bad_definition_leaves_a_saved_segment_as_it_was(workspace, api):
    segment = make_segment(workspace)

    response = api.patch(f"/segments/{segment.pk}/", {"name": "Changed", "definition": {"match": "all"}})

    assert response.status_code == 400 and "definition" in response.json()["errors"]
    with schema_context(workspace.schema_name):
        assert Segment.objects.get().name == "Gmail"


def test_count_and_preview_answer_the_matching_clients(workspace, api):
    factories.make_client("anna@gmail.com", workspace=workspace)
    factories.make_client("boris@gmail.com", workspace=workspace, subscribed=False)
    factories.make_client("carl@yandex.ru", workspace=workspace)
    segment = make_segment(workspace)

    counted = api.get(f"/segments/{segment.pk}/count/")
    preview = api.get(f"/segments/{segment.pk}/preview/")

    assert counted.json() == {"matching": 2, "subscribed": 1, "unsubscribed": 1}
    assert [client["email"] for client in preview.json()] == ["anna@gmail.com", "boris@gmail.com"]


def test_a_read_only_key_reads_segments_but_changes_nothing(workspace, api_as):
    segment = make_segment(workspace)
    api = api_as(workspace, "read")

    assert api.get(f"/segments/{segment.pk}/count/").status_code == 200
    assert api.get(f"/segments/{segment.pk}/preview/").status_code == 200
    assert api.post("/segments/", {"name": "New", "definition": GMAIL}).status_code == 403
    assert api.patch(f"/segments/{segment.pk}/", {"name": "Renamed"}).status_code == 403
    assert api.delete(f"/segments/{segment.pk}/").status_code == 403
    with schema_context(workspace.schema_name):
        assert list(Segment.objects.values_list("name", flat=True)) == ["Gmail"]


def test_a_key_of_one_workspace_never_reaches_anothers_segments(workspace, other_workspace, api):
    theirs = make_segment(other_workspace, "Theirs")
    with schema_context(workspace.schema_name):
        assert not Segment.objects.filter(pk=theirs.pk).exists()

    for path in ("", "count/", "preview/"):
        assert api.get(f"/segments/{theirs.pk}/{path}").status_code == 404
    assert api.patch(f"/segments/{theirs.pk}/", {"name": "Mine"}).status_code == 404
    assert api.delete(f"/segments/{theirs.pk}/").status_code == 404
    assert api.get("/segments/").json()["results"] == []
    # On the other workspace's host the key is not its own: 404 there too (REST API: Keys).
    _key, secret = make_key(workspace)
    assert Api(other_workspace.host, secret).get(f"/segments/{theirs.pk}/").status_code == 404
    assert Api(other_workspace.host, secret).delete(f"/segments/{theirs.pk}/").status_code == 404
    with schema_context(other_workspace.schema_name):
        assert Segment.objects.get().name == "Theirs"


def test_a_segment_used_by_an_unfinished_mailing_is_not_deleted(workspace, api):
    segment = make_segment(workspace)
    with schema_context(workspace.schema_name):
        mailing = factories.make_mailing(audience=Mailing.Audience.LISTS)
        mailing.segments.set([segment])

    response = api.delete(f"/segments/{segment.pk}/")

    assert response.status_code == 409 and "segment" in response.json()["detail"]
    with schema_context(workspace.schema_name):
        assert Segment.objects.filter(pk=segment.pk).exists()


def test_clients_filtered_by_a_segment_are_exactly_its_clients_page_by_page(workspace, api):
    with schema_context(workspace.schema_name):
        CustomField.objects.create(key="city", label="City", type=CustomField.Type.TEXT)
        news = MailingList.objects.create(name="News")
    wanted = []
    for index in range(7):
        client = factories.make_client(f"k{index}@example.com", workspace=workspace, fields={"city": "Kazan"})
        wanted.append(client.pk)
    factories.make_client("m@example.com", workspace=workspace, fields={"city": "Moscow"})
    on_list = factories.make_client("list@example.com", workspace=workspace, fields={"city": "Kazan"})
    with schema_context(workspace.schema_name):
        Membership.objects.create(mailing_list=news, client=on_list, status="subscribed", changed_at=on_list.created)
    wanted.append(on_list.pk)
    segment = make_segment(
        workspace,
        "Kazan",
        {"match": "all", "conditions": [{"kind": "field", "field": "city", "op": "equals", "value": "Kazan"}]},
    )

    found, url = [], f"/clients/?segment={segment.pk}&limit=3"
    while url:
        page = api.get(url).json()
        found += [client["id"] for client in page["results"]]
        url = page["next"]
    combined = api.get(f"/clients/?segment={segment.pk}&list={news.pk}").json()["results"]

    assert found == sorted(wanted)
    assert [client["id"] for client in combined] == [on_list.pk]


def test_the_segment_filter_refuses_an_unknown_or_other_workspaces_segment(workspace, other_workspace, api):
    theirs = make_segment(
        other_workspace,
        "Theirs",
        {"match": "all", "conditions": [{"kind": "added", "op": "after", "value": "2000-01-01"}]},
    )
    factories.make_client("mine@example.com", workspace=workspace)

    for value in (str(theirs.pk), "x", "99999999"):
        response = api.get(f"/clients/?segment={value}")
        assert response.status_code == 400
        assert response.json()["errors"]["segment"]


def test_a_segment_filter_value_is_a_parameter_never_sql(workspace, api):
    factories.make_client("a@example.com", workspace=workspace)
    factories.make_client("b@example.com", workspace=workspace)
    segment = make_segment(
        workspace,
        "Quote",
        {"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": "a@') OR (TRUE"}]},
    )

    assert api.get(f"/clients/?segment={segment.pk}").json()["results"] == []

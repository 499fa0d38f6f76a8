"""Segment pages: the builder's form, its live count endpoint, and who may do what."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_client
from tenant_apps.audience.models import Client, Segment

pytestmark = pytest.mark.django_db

EMAIL_HAS_A = {"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": "a"}]}


def test_editor_builds_a_segment(editor, workspace):
    response = editor.post("/clients/segments/new/", {"name": " На букву a ", "definition": json.dumps(EMAIL_HAS_A)})

    with schema_context(workspace.schema_name):
        segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/clients/segments/{segment.pk}/"
    assert (segment.name, segment.definition) == ("На букву a", EMAIL_HAS_A)


def test_an_invalid_definition_is_shown_and_nothing_is_saved(editor, workspace):
    bad = {"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": ""}]}

    response = editor.post("/clients/segments/new/", {"name": "Пустой", "definition": json.dumps(bad)})

    assert response.status_code == 200
    assert "Введите значение для «email»." in response.content.decode()
    with schema_context(workspace.schema_name):
        assert not Segment.objects.exists()


def test_a_taken_name_is_refused(editor, workspace):
    with schema_context(workspace.schema_name):
        Segment.objects.create(name="Москва", definition=EMAIL_HAS_A)

    response = editor.post("/clients/segments/new/", {"name": "москва", "definition": json.dumps(EMAIL_HAS_A)})

    assert response.context["form"].errors["name"] == ["Сегмент с таким названием уже есть."]


def test_the_preview_endpoint_counts_and_lists_the_first_clients(as_role, workspace):
    with schema_context(workspace.schema_name):
        make_client("anna@example.com", full_name="Анна")
        make_client("gone-a@example.com", subscribed=False)
        make_client("bob@exemple.org")

    response = as_role("viewer").get("/clients/segments/preview/", {"definition": json.dumps(EMAIL_HAS_A)})

    data = response.json()
    assert (data["ok"], data["matching"], data["subscribed"]) == (True, 2, 1)
    assert [(row["email"], row["subscribed"]) for row in data["preview"]] == [
        ("anna@example.com", True),
        ("gone-a@example.com", False),
    ]


def test_the_preview_endpoint_explains_an_invalid_definition(editor):
    data = editor.get("/clients/segments/preview/", {"definition": "{not json"}).json()

    assert data == {"ok": False, "errors": ["Условия заданы не в том виде."]}


def test_a_viewer_sees_a_segment_read_only_and_cannot_change_it(as_role, workspace):
    with schema_context(workspace.schema_name):
        segment = Segment.objects.create(name="Москва", definition=EMAIL_HAS_A)
    viewer = as_role("viewer")

    page = viewer.get(f"/clients/segments/{segment.pk}/")
    edit = viewer.post(f"/clients/segments/{segment.pk}/edit/", {"name": "x", "definition": json.dumps(EMAIL_HAS_A)})

    assert page.status_code == 200 and 'data-readonly="1"' in page.content.decode()
    assert f"/clients/segments/{segment.pk}/edit/" not in page.content.decode()
    assert edit.status_code == 404
    with schema_context(workspace.schema_name):
        assert Segment.objects.get().name == "Москва"


def test_a_member_of_another_workspace_gets_404(other_workspace, workspace, workspace_client, member_factory):
    with schema_context(workspace.schema_name):
        segment = Segment.objects.create(name="Москва", definition=EMAIL_HAS_A)
    workspace_client.force_login(member_factory(other_workspace, "owner"))

    assert workspace_client.get(f"/clients/segments/{segment.pk}/").status_code == 404
    assert workspace_client.get("/clients/segments/preview/", {"definition": "{}"}).status_code == 404


def test_editor_deletes_a_segment(editor, workspace):
    with schema_context(workspace.schema_name):
        segment = Segment.objects.create(name="Москва", definition=EMAIL_HAS_A)

    response = editor.post(f"/clients/segments/{segment.pk}/delete/")

    assert response.status_code == 302 and response["Location"] == "/clients/segments/"
    with schema_context(workspace.schema_name):
        assert not Segment.objects.exists()


NEW_THIS_WEEK = {"match": "all", "conditions": [{"kind": "added", "op": "within_last_days", "value": "7"}]}


def test_the_preview_endpoint_counts_a_relative_date_condition(as_role, workspace):
    with schema_context(workspace.schema_name):
        make_client("new@example.com")
        old = make_client("old@example.com")
        Client.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=30))

    data = as_role("viewer").get("/clients/segments/preview/", {"definition": json.dumps(NEW_THIS_WEEK)}).json()

    assert (data["ok"], data["matching"]) == (True, 1)
    assert [row["email"] for row in data["preview"]] == ["new@example.com"]


def test_the_preview_endpoint_explains_a_number_of_days_out_of_range(editor):
    too_far = {"match": "all", "conditions": [{"kind": "added", "op": "more_than_days_ago", "value": 3651}]}

    data = editor.get("/clients/segments/preview/", {"definition": json.dumps(too_far)}).json()

    assert data == {"ok": False, "errors": ["Для «добавлен в пространство» нужно целое число дней от 1 до 3650."]}


def test_editor_saves_a_relative_segment_and_the_builder_offers_its_operators(editor, workspace):
    page = editor.get("/clients/segments/new/").content.decode()
    response = editor.post("/clients/segments/new/", {"name": "Новые", "definition": json.dumps(NEW_THIS_WEEK)})

    options = json.loads(re.search(r'id="segment-builder-options"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert "within_last_days" in options["kinds"]["added"]["ops"]
    assert (options["ops"]["within_last_days"], options["units"]["more_than_days_ago"]) == ("за последние", "дн. назад")
    assert response.status_code == 302
    with schema_context(workspace.schema_name):
        assert Segment.objects.get().definition["conditions"][0]["value"] == 7


def test_a_number_of_days_that_is_not_whole_is_shown_and_nothing_is_saved(editor, workspace):
    bad = {"match": "all", "conditions": [{"kind": "added", "op": "within_last_days", "value": "1.5"}]}

    response = editor.post("/clients/segments/new/", {"name": "Полтора дня", "definition": json.dumps(bad)})

    assert response.status_code == 200
    assert "нужно целое число дней от 1 до 3650" in response.content.decode()
    with schema_context(workspace.schema_name):
        assert not Segment.objects.exists()

"""Custom fields: definitions (owners only), typed values on the client form
and in CSV imports, and the JSONB column they live in."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenant_apps.audience import fields as custom_fields
from tenant_apps.audience import services
from tenant_apps.audience.models import Client, CustomField, ImportJob

pytestmark = pytest.mark.django_db


def define(workspace, key, field_type="text", label=None, choices=()):
    with schema_context(workspace.schema_name):
        return CustomField.objects.create(key=key, label=label or key.title(), type=field_type, choices=list(choices))


def stored_fields(workspace, email):
    with schema_context(workspace.schema_name):
        return Client.objects.get(email=email).fields


# --- definitions ---------------------------------------------------------------------


def test_owner_defines_a_choice_field_with_one_choice_per_line(as_role, workspace):
    owner = as_role("owner")

    response = owner.post(
        "/clients/fields/new/",
        {"label": "Тариф", "key": "plan", "type": "choice", "choices_text": "Базовый\n\nПро\nБазовый\n"},
    )

    assert response.status_code == 302
    with schema_context(workspace.schema_name):
        plan = CustomField.objects.get(key="plan")
    assert (plan.label, plan.type, plan.choices) == ("Тариф", "choice", ["Базовый", "Про"])


@pytest.mark.parametrize("key", ["City", "1city", "city-name", "город", "a" * 41, "x'; DROP TABLE"])
def test_a_key_that_is_not_a_lowercase_latin_identifier_is_refused(as_role, workspace, key):
    response = as_role("owner").post("/clients/fields/new/", {"label": "Город", "key": key, "type": "text"})

    assert response.status_code == 200 and "key" in response.context["form"].errors
    with schema_context(workspace.schema_name):
        assert not CustomField.objects.exists()


def test_a_duplicate_key_is_refused(as_role, workspace):
    define(workspace, "city")

    response = as_role("owner").post("/clients/fields/new/", {"label": "Другой", "key": "city", "type": "text"})

    assert response.status_code == 200 and "key" in response.context["form"].errors


def test_a_choice_field_without_choices_is_refused(as_role, workspace):
    response = as_role("owner").post("/clients/fields/new/", {"label": "Тариф", "key": "plan", "type": "choice"})

    assert response.status_code == 200 and "choices_text" in response.context["form"].errors


@pytest.mark.parametrize("role", ["editor", "viewer", "manager"])
def test_only_owners_change_definitions(as_role, workspace, role):
    city = define(workspace, "city")
    http = as_role(role)

    assert http.get("/clients/fields/").status_code == 200
    for method, url, data in [
        ("post", "/clients/fields/new/", {"label": "X", "key": "x", "type": "text"}),
        ("post", f"/clients/fields/{city.pk}/edit/", {"label": "Y"}),
        ("post", f"/clients/fields/{city.pk}/delete/", {}),
    ]:
        assert getattr(http, method)(url, data).status_code == 404, url
    with schema_context(workspace.schema_name):
        assert list(CustomField.objects.values_list("key", "label")) == [("city", "City")]


def test_deleting_a_field_removes_its_values_from_every_client(as_role, workspace, clients_of):
    city = define(workspace, "city")
    clients_of(workspace, "ann@example.com", fields={"city": "Казань", "other": 1})

    as_role("owner").post(f"/clients/fields/{city.pk}/delete/")

    assert stored_fields(workspace, "ann@example.com") == {"other": 1}


def test_a_choice_still_held_by_a_client_cannot_be_removed(as_role, workspace, clients_of):
    plan = define(workspace, "plan", "choice", choices=["Базовый", "Про"])
    clients_of(workspace, "ann@example.com", fields={"plan": "Про"})

    response = as_role("owner").post(f"/clients/fields/{plan.pk}/edit/", {"label": "Тариф", "choices_text": "Базовый"})

    assert response.status_code == 200 and "choices_text" in response.context["form"].errors


# --- values on the client form ---------------------------------------------------------


def test_client_form_stores_values_by_type(editor, workspace):
    define(workspace, "city")
    define(workspace, "age", "number")
    define(workspace, "birthday", "date")
    define(workspace, "vip", "boolean")
    define(workspace, "plan", "choice", choices=["Базовый", "Про"])

    response = editor.post(
        "/clients/new/",
        {
            "email": "ann@example.com",
            "is_subscribed": "on",
            "field_city": " Казань ",
            "field_age": "42",
            "field_birthday": "1990-05-17",
            "field_vip": "да",
            "field_plan": "Про",
        },
    )

    assert response.status_code == 302
    assert stored_fields(workspace, "ann@example.com") == {
        "city": "Казань",
        "age": 42,
        "birthday": "1990-05-17",
        "vip": True,
        "plan": "Про",
    }


@pytest.mark.parametrize(
    ("field_type", "choices", "value"),
    [
        ("number", [], "сорок"),
        ("number", [], "NaN"),
        ("date", [], "2024-02-30"),
        ("boolean", [], "может быть"),
        ("choice", ["Базовый"], "Про"),
        ("text", [], "x" * 501),
    ],
)
def test_a_value_of_the_wrong_type_is_a_form_error_and_saves_nothing(editor, workspace, field_type, choices, value):
    define(workspace, "thing", field_type, choices=choices)

    response = editor.post("/clients/new/", {"email": "ann@example.com", "field_thing": value})

    assert response.status_code == 200 and "field_thing" in response.context["form"].errors
    with schema_context(workspace.schema_name):
        assert not Client.objects.filter(email="ann@example.com").exists()


def test_emptying_a_value_removes_it_and_other_keys_stay(editor, workspace, clients_of):
    define(workspace, "city")
    [ann] = clients_of(workspace, "ann@example.com", fields={"city": "Казань", "legacy": "x"})

    editor.post(f"/clients/{ann.pk}/edit/", {"email": "ann@example.com", "is_subscribed": "on", "field_city": ""})

    assert stored_fields(workspace, "ann@example.com") == {"legacy": "x"}


def test_client_page_shows_values_as_written_in_messages(editor, workspace, clients_of):
    define(workspace, "birthday", "date", label="День рождения")
    [ann] = clients_of(workspace, "ann@example.com", fields={"birthday": "1990-05-17"})

    page = editor.get(f"/clients/{ann.pk}/").content.decode()

    assert "День рождения" in page and "17.05.1990" in page


# --- import -----------------------------------------------------------------------------


def test_import_maps_columns_by_key_or_label_and_rejects_bad_values_by_line(in_workspace):
    CustomField.objects.create(key="city", label="Город", type="text")
    CustomField.objects.create(key="age", label="Возраст", type="number")
    data = "email;Город;age\nann@example.com;Казань;42\nbob@example.com;Омск;много\ncat@example.com;;7,5\n"
    job = ImportJob.objects.create(file_name="t.csv", data=data.encode())

    services.run_import(job)

    assert dict(Client.objects.values_list("email", "fields")) == {
        "ann@example.com": {"city": "Казань", "age": 42},
        "cat@example.com": {"age": 7.5},
    }
    [(line, reason, value)] = services.error_report(job)
    assert (line, value) == (3, "bob@example.com") and "Возраст" in reason


def test_raw_inserts_that_do_not_name_the_column_get_an_empty_object(in_workspace):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audience_client (email, full_name, comment, is_subscribed, created, updated) "
            "VALUES ('raw@example.com', '', '', true, now(), now())"
        )

    assert Client.objects.get(email="raw@example.com").fields == {}


def test_values_are_found_by_containment(in_workspace):
    Client.objects.create(email="kazan@example.com", fields={"city": "Казань"})
    Client.objects.create(email="omsk@example.com", fields={"city": "Омск"})

    assert list(Client.objects.filter(fields__contains={"city": "Казань"}).values_list("email", flat=True)) == [
        "kazan@example.com"
    ]


@pytest.mark.parametrize(
    ("field_type", "raw", "stored"),
    [
        ("number", "1 234,5", 1234.5),
        ("number", "-3", -3),
        ("date", "17.05.1990", "1990-05-17"),
        ("boolean", "No", False),
        ("text", "  'quoted' %_ ", "'quoted' %_"),
    ],
)
def test_clean_value_normalises_by_type(field_type, raw, stored):
    assert custom_fields.clean_value(CustomField(key="k", label="K", type=field_type), raw) == stored


def test_export_has_a_column_per_field_that_imports_back_to_the_same_values(in_workspace):
    CustomField.objects.create(key="city", label="Город")
    CustomField.objects.create(key="age", label="Возраст", type="number")
    CustomField.objects.create(key="vip", label="VIP", type="boolean")
    Client.objects.create(email="ann@example.com", fields={"city": "=Казань", "age": 7.5, "vip": False})
    Client.objects.create(email="bob@example.com", fields={})
    exported = "".join(services.export_rows(services.search_clients()))
    Client.objects.all().delete()

    services.run_import(ImportJob.objects.create(file_name="t.csv", data=exported.encode()))

    assert exported.splitlines()[0] == "\ufeffemail,full_name,comment,subscribed,unsubscribed_at,created,age,city,vip"
    assert dict(Client.objects.values_list("email", "fields")) == {
        "ann@example.com": {"city": "=Казань", "age": 7.5, "vip": False},
        "bob@example.com": {},
    }

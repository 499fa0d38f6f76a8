"""Clients: the list with search and filters, and adding, changing and deleting one."""

import pytest
from django_tenants.utils import schema_context

from tenant_apps.audience.models import Client

pytestmark = pytest.mark.django_db


def acme_clients():
    with schema_context("ws_acme"):
        return {c.email: c for c in Client.objects.all()}


def test_list_shows_clients_with_their_subscription_state(editor, workspace, clients_of):
    clients_of(workspace, "anna@example.com", full_name="Анна Петрова")
    clients_of(workspace, "boris@example.com", is_subscribed=False)

    page = editor.get("/clients/").content.decode()

    assert "anna@example.com" in page and "Анна Петрова" in page
    assert "boris@example.com" in page
    assert "отписан" in page


def test_search_finds_a_substring_of_the_email_or_the_name_ignoring_case(editor, workspace, clients_of):
    clients_of(workspace, "anna@example.com", full_name="Анна Петрова")
    clients_of(workspace, "boris@sample.org", full_name="Борис")

    by_email = editor.get("/clients/", {"q": "SAMPLE"}).content.decode()
    by_name = editor.get("/clients/", {"q": "петров"}).content.decode()

    assert "boris@sample.org" in by_email and "anna@example.com" not in by_email
    assert "anna@example.com" in by_name and "boris@sample.org" not in by_name


def test_filter_by_subscription_state(editor, workspace, clients_of):
    clients_of(workspace, "in@example.com")
    clients_of(workspace, "out@example.com", is_subscribed=False)

    subscribed = editor.get("/clients/", {"status": "subscribed"}).content.decode()
    unsubscribed = editor.get("/clients/", {"status": "unsubscribed"}).content.decode()

    assert "in@example.com" in subscribed and "out@example.com" not in subscribed
    assert "out@example.com" in unsubscribed and "in@example.com" not in unsubscribed


def test_list_is_paged_by_fifty_and_keeps_the_filter_in_page_links(editor, workspace):
    with schema_context(workspace.schema_name):
        Client.objects.bulk_create(Client(email=f"p{n:03}@example.com") for n in range(120))

    first = editor.get("/clients/", {"q": "@example.com"})
    third = editor.get("/clients/", {"q": "@example.com", "page": 3})

    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 120
    assert "?q=%40example.com&amp;page=2" in first.content.decode()
    assert [c.email for c in third.context["page"].object_list][0] == "p100@example.com"
    assert len(third.context["page"].object_list) == 20


def test_editor_adds_a_client(editor):
    response = editor.post(
        "/clients/new/",
        {"email": "new@example.com", "full_name": "Новый", "comment": "с выставки", "is_subscribed": "on"},
    )

    client = acme_clients()["new@example.com"]
    assert response.status_code == 302 and response["Location"] == f"/clients/{client.pk}/"
    assert (client.full_name, client.comment, client.is_subscribed) == ("Новый", "с выставки", True)


def test_an_email_already_there_in_another_case_is_a_form_error(editor, workspace, clients_of):
    clients_of(workspace, "Taken@Example.com")

    response = editor.post("/clients/new/", {"email": "taken@EXAMPLE.com"})

    assert response.status_code == 200
    assert "Клиент с таким email уже есть" in response.content.decode()
    assert len(acme_clients()) == 1


def test_an_invalid_email_is_a_form_error(editor):
    response = editor.post("/clients/new/", {"email": "not-an-email"})

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert acme_clients() == {}


def test_a_name_over_200_characters_is_a_form_error(editor):
    response = editor.post("/clients/new/", {"email": "long@example.com", "full_name": "x" * 201})

    assert response.context["form"].errors["full_name"]
    assert acme_clients() == {}


def test_detail_shows_the_client(editor, workspace, clients_of):
    [client] = clients_of(workspace, "view@example.com", full_name="Вера", comment="VIP")

    page = editor.get(f"/clients/{client.pk}/").content.decode()

    assert "view@example.com" in page and "Вера" in page and "VIP" in page


def test_editor_changes_a_client_and_may_keep_its_own_email_in_another_case(editor, workspace, clients_of):
    [client] = clients_of(workspace, "edit@example.com")

    response = editor.post(f"/clients/{client.pk}/edit/", {"email": "EDIT@example.com", "full_name": "Эд"})

    assert response.status_code == 302
    with schema_context(workspace.schema_name):
        client.refresh_from_db()
    assert (client.email, client.full_name) == ("EDIT@example.com", "Эд")


def test_changing_the_email_to_another_clients_email_is_a_form_error(editor, workspace, clients_of):
    first, second = clients_of(workspace, "first@example.com", "second@example.com")

    response = editor.post(f"/clients/{second.pk}/edit/", {"email": "FIRST@example.com", "is_subscribed": "on"})

    assert response.status_code == 200 and response.context["form"].errors["email"]
    assert set(acme_clients()) == {"first@example.com", "second@example.com"}


def test_unsubscribing_in_the_form_records_the_time_and_shows_it(editor, workspace, clients_of):
    [client] = clients_of(workspace, "leave@example.com")

    editor.post(f"/clients/{client.pk}/edit/", {"email": "leave@example.com"})  # box unticked

    client = acme_clients()["leave@example.com"]
    assert client.is_subscribed is False and client.unsubscribed_at is not None
    assert "Отписан" in editor.get(f"/clients/{client.pk}/").content.decode()


def test_subscribing_again_clears_the_unsubscribe_time(editor, workspace, clients_of):
    from django.utils import timezone

    [client] = clients_of(workspace, "back@example.com", is_subscribed=False, unsubscribed_at=timezone.now())

    response = editor.post(f"/clients/{client.pk}/subscription/", {"subscribed": "1"})

    client = acme_clients()["back@example.com"]
    assert response.status_code == 302
    assert client.is_subscribed is True and client.unsubscribed_at is None


def test_unsubscribe_button_unsubscribes(editor, workspace, clients_of):
    [client] = clients_of(workspace, "button@example.com")

    editor.post(f"/clients/{client.pk}/subscription/", {"subscribed": "0"})

    client = acme_clients()["button@example.com"]
    assert client.is_subscribed is False and client.unsubscribed_at is not None


def test_delete_asks_for_confirmation_first(editor, workspace, clients_of):
    [client] = clients_of(workspace, "stay@example.com")

    response = editor.get(f"/clients/{client.pk}/delete/")

    assert response.status_code == 200
    assert "stay@example.com" in response.content.decode()
    assert "stay@example.com" in acme_clients()


def test_delete_after_confirmation_removes_the_client(editor, workspace, clients_of):
    [client] = clients_of(workspace, "gone@example.com")

    response = editor.post(f"/clients/{client.pk}/delete/")

    assert response.status_code == 302 and response["Location"] == "/clients/"
    assert acme_clients() == {}


def test_pages_are_in_english_when_chosen(editor, workspace, clients_of):
    from django.conf import settings

    editor.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = editor.get("/clients/").content.decode()

    assert "Add a client" in page and "Import CSV" in page


def test_search_treats_percent_and_underscore_literally(editor, workspace, clients_of):
    clients_of(workspace, "a_b@example.com", "axb@example.com")

    found = editor.get("/clients/", {"q": "a_b"}).content.decode()
    nothing = editor.get("/clients/", {"q": "%"}).content.decode()

    assert "a_b@example.com" in found and "axb@example.com" not in found
    assert "axb@example.com" not in nothing


def test_search_uses_ilike_which_the_trigram_indexes_serve(in_workspace):
    from tenant_apps.audience.services import search_clients

    sql = str(search_clients("anna").query)

    assert '"audience_client"."email" ILIKE' in sql and '"audience_client"."full_name" ILIKE' in sql
    assert "UPPER(" not in sql


def test_every_workspace_gets_the_search_indexes_and_pg_trgm_lives_in_public(workspace):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == ("public",)
        cursor.execute(
            "SELECT schemaname FROM pg_indexes WHERE indexname = 'client_email_trgm' ORDER BY schemaname",
        )
        schemas = {row[0] for row in cursor.fetchall()}
    assert {"tenant_template", "ws_acme", "ws_globex"} <= schemas


def test_editing_an_unsubscribed_client_keeps_the_time_they_left(editor, workspace, clients_of):
    from datetime import UTC, datetime

    left = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    [client] = clients_of(workspace, "left@example.com", is_subscribed=False, unsubscribed_at=left)

    editor.post(f"/clients/{client.pk}/edit/", {"email": "left@example.com", "comment": "still away"})

    client = acme_clients()["left@example.com"]
    assert (client.comment, client.is_subscribed, client.unsubscribed_at) == ("still away", False, left)


def test_empty_list_tells_an_editor_how_to_add_the_first_clients(editor):
    page = editor.get("/clients/").content.decode()

    assert 'data-testid="clients-empty"' in page
    assert "Клиентов пока нет." in page
    assert 'href="/clients/new/"' in page and 'href="/clients/import/"' in page


def test_search_without_matches_offers_to_show_every_client(editor, workspace, clients_of):
    clients_of(workspace, "anna@example.com")

    page = editor.get("/clients/", {"q": "nobody"}).content.decode()

    assert "Клиенты не найдены." in page
    assert 'data-testid="clients-empty"' not in page
    assert "Показать всех клиентов" in page


def test_viewer_sees_no_buttons_that_lead_to_pages_closed_to_them(as_role):
    page = as_role("viewer").get("/clients/").content.decode()

    assert 'href="/clients/new/"' not in page
    assert 'href="/clients/import/"' not in page
    assert "Клиентов пока нет." in page

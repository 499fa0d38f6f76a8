"""Who may see and change messages and mailings, and that workspaces never see each other's.

Every URL of the app is listed below; a test fails when a new URL is added
without saying whether it reads or changes.
"""

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django_tenants.utils import schema_context

from saas.factories import make_manager
from tenant_apps.campaigns import urls as campaign_urls
from tenant_apps.campaigns.models import Mailing, Message

READ_URLS = {"dashboard", "message_list", "message_detail", "mailing_list", "mailing_detail"}
CHANGE_URLS = {
    "message_create",
    "message_edit",
    "message_delete",
    "message_send_test",
    "mailing_create",
    "mailing_edit",
    "mailing_delete",
    "mailing_pause",
    "mailing_resume",
    "client_search",
}
POST_ONLY = {"message_send_test", "mailing_pause", "mailing_resume"}
GET_ONLY = {"client_search"}


def object_url(name, objects):
    """The URL `name` for `objects` (a dict with a message and a mailing)."""
    pattern = next(p for p in campaign_urls.urlpatterns if p.name == name)
    if "<int:pk>" not in str(pattern.pattern):
        return reverse(f"campaigns:{name}")
    target = objects["message"] if name.startswith("message_") else objects["mailing"]
    return reverse(f"campaigns:{name}", args=[target.pk])


def methods_of(name):
    if name in POST_ONLY:
        return ["post"]
    if name in GET_ONLY or name in READ_URLS:
        return ["get"]
    return ["get", "post"]


def requests_for(names):
    return [(name, method) for name in sorted(names) for method in methods_of(name)]


@pytest.fixture
def acme_objects(in_workspace, make_mailing):
    mailing = make_mailing(name="Acme plan", status="running", is_paused=True)
    return {"message": mailing.message, "mailing": mailing}


def snapshot(schema):
    with schema_context(schema):
        return (
            sorted(Message.objects.values_list("pk", "subject", "body_text")),
            sorted(Mailing.objects.values_list("pk", "name", "is_paused", "status")),
        )


def test_every_url_of_the_app_is_classified():
    names = {pattern.name for pattern in campaign_urls.urlpatterns}

    assert names == READ_URLS | CHANGE_URLS


# --- roles -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor"])
@pytest.mark.parametrize("name", sorted(READ_URLS | (CHANGE_URLS - POST_ONLY)))
def test_owner_and_editor_open_every_page(workspace, workspace_client, member_factory, acme_objects, role, name):
    workspace_client.force_login(member_factory(workspace, role))

    response = workspace_client.get(object_url(name, acme_objects))

    assert response.status_code == 200


@pytest.fixture(params=["viewer", "manager"])
def read_only_user(request, workspace, member_factory, user_factory):
    if request.param == "viewer":
        return member_factory(workspace, "viewer")
    return make_manager()


@pytest.mark.parametrize("name", sorted(READ_URLS))
def test_viewers_and_managers_read_every_page(workspace_client, read_only_user, acme_objects, name):
    workspace_client.force_login(read_only_user)

    response = workspace_client.get(object_url(name, acme_objects))

    assert response.status_code == 200


@pytest.mark.parametrize(("name", "method"), requests_for(CHANGE_URLS))
def test_viewers_and_managers_change_nothing(workspace_client, read_only_user, acme_objects, name, method):
    workspace_client.force_login(read_only_user)
    before = snapshot("ws_acme")

    response = getattr(workspace_client, method)(object_url(name, acme_objects), {"subject": "x", "name": "x"})

    assert response.status_code == 404
    assert snapshot("ws_acme") == before


def test_read_only_pages_offer_no_change_buttons(workspace_client, read_only_user, acme_objects):
    workspace_client.force_login(read_only_user)

    pages = [workspace_client.get(object_url(name, acme_objects)).content.decode() for name in sorted(READ_URLS)]

    for change in ("message_create", "mailing_create", "message_edit", "mailing_edit", "mailing_resume"):
        assert all(object_url(change, acme_objects) not in page for page in pages), change


@pytest.mark.parametrize(("name", "method"), requests_for(READ_URLS | CHANGE_URLS))
def test_anonymous_visitor_is_sent_to_sign_in(workspace_client, acme_objects, name, method):
    response = getattr(workspace_client, method)(object_url(name, acme_objects))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- isolation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        (n, m)
        for n, m in requests_for(READ_URLS | CHANGE_URLS)
        if n.endswith(("_detail", "_edit", "_delete", "_test", "_pause", "_resume"))
    ],
)
def test_objects_of_another_workspace_are_not_found(editor_client, globex_objects, name, method):
    before = snapshot("ws_globex")

    response = getattr(editor_client, method)(object_url(name, globex_objects), {"name": "hijack", "subject": "hijack"})

    assert response.status_code == 404
    assert snapshot("ws_globex") == before


@pytest.mark.parametrize(("name", "method"), requests_for(READ_URLS | CHANGE_URLS))
def test_member_of_acme_gets_404_for_every_url_on_globex_host(editor, other_workspace, globex_objects, name, method):
    on_globex = DjangoClient(HTTP_HOST=other_workspace.host)
    on_globex.force_login(editor)

    response = getattr(on_globex, method)(object_url(name, globex_objects))

    assert response.status_code == 404


def test_lists_and_dashboard_never_show_another_workspaces_objects(editor_client, globex_objects):
    pages = [
        editor_client.get(reverse(f"campaigns:{name}")).content.decode()
        for name in sorted(READ_URLS - {"message_detail", "mailing_detail"})
    ]

    assert all("Globex secret" not in page and "Globex plan" not in page for page in pages)


def test_client_search_never_returns_another_workspaces_clients(editor_client, globex_objects, make_client):
    make_client(email="acme-only@example.com")

    found = editor_client.get(reverse("campaigns:client_search"), {"q": "only@example.com"}).json()["results"]

    assert [c["email"] for c in found] == ["acme-only@example.com"]


def test_a_client_of_another_workspace_cannot_be_chosen_as_recipient(editor_client, globex_objects, make_message):
    response = editor_client.post(
        reverse("campaigns:mailing_create"),
        {
            "name": "Sneaky",
            "message": make_message().pk,
            "audience": "selected",
            "clients": str(globex_objects["client"].pk),
            "start_at": "2030-01-10T09:00",
            "end_at": "2030-01-11T09:00",
            "periodicity": "once",
        },
    )

    assert response.status_code == 200
    assert "clients" in response.context["form"].errors
    assert not Mailing.objects.filter(name="Sneaky").exists()


def test_a_message_of_another_workspace_cannot_be_sent_by_a_mailing(editor_client, globex_objects, make_client):
    response = editor_client.post(
        reverse("campaigns:mailing_create"),
        {
            "name": "Sneaky",
            "message": globex_objects["message"].pk,
            "audience": "selected",
            "clients": str(make_client().pk),
            "start_at": "2030-01-10T09:00",
            "end_at": "2030-01-11T09:00",
            "periodicity": "once",
        },
    )

    assert response.status_code == 200
    assert "message" in response.context["form"].errors


# --- languages -----------------------------------------------------------------------

HEADINGS = {
    "message_list": ("Сообщения", "Messages"),
    "message_create": ("Новое сообщение", "New message"),
    "message_edit": ("Изменение сообщения", "Edit message"),
    "message_delete": ("Удаление сообщения", "Delete message"),
    "mailing_list": ("Рассылки", "Mailings"),
    "mailing_create": ("Новая рассылка", "New mailing"),
    "mailing_edit": ("Изменение рассылки", "Edit mailing"),
    "mailing_delete": ("Удаление рассылки", "Delete mailing"),
}


@pytest.mark.parametrize("name", sorted(HEADINGS))
def test_every_page_is_in_russian_by_default_and_in_english_on_request(editor_client, make_mailing, name):
    mailing = make_mailing()
    objects = {"message": mailing.message, "mailing": mailing}
    russian_heading, english_heading = HEADINGS[name]

    russian = editor_client.get(object_url(name, objects)).content.decode()
    editor_client.cookies["django_language"] = "en"
    english = editor_client.get(object_url(name, objects)).content.decode()

    assert f">{russian_heading}</h1>" in russian and 'lang="ru"' in russian
    assert f">{english_heading}</h1>" in english and 'lang="en"' in english


@pytest.mark.parametrize("name", ["message_detail", "message_edit", "mailing_detail", "mailing_edit"])
def test_ids_out_of_range_are_not_found(editor_client, name):
    response = editor_client.get(reverse(f"campaigns:{name}", args=[10**30]))

    assert response.status_code == 404

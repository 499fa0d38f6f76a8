"""Lists: pages, who may change them, memberships on the client's page, the
list filter and export, CSV import into a list, and the default list."""

import csv
import importlib
import io

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.audience import lists, services
from tenant_apps.audience.models import Client, ImportJob, MailingList, Membership

from .conftest import csv_upload

pytestmark = pytest.mark.django_db


def make_list(workspace, name="Новости", **fields):
    with schema_context(workspace.schema_name):
        return MailingList.objects.create(name=name, **fields)


def membership_states(workspace, mailing_list):
    with schema_context(workspace.schema_name):
        return dict(
            Membership.objects.filter(mailing_list=mailing_list).values_list("client__email", "status").order_by()
        )


def join(workspace, mailing_list, clients, status="subscribed"):
    with schema_context(workspace.schema_name):
        for client in clients:
            Membership.objects.create(
                mailing_list=mailing_list, client=client, status=status, changed_at=timezone.now()
            )


# --- list pages ---------------------------------------------------------------------


def test_the_new_list_form_has_double_opt_in_ticked(editor):
    form = editor.get("/clients/lists/new/").context["form"]

    assert form["double_opt_in"].value() is True and form["is_public"].value() is False


def test_editor_creates_a_list(editor, workspace):
    response = editor.post(
        "/clients/lists/new/",
        {"name": "Новости", "description": "Раз в неделю", "is_public": "on", "double_opt_in": "on"},
    )

    with schema_context(workspace.schema_name):
        created = MailingList.objects.get(name="Новости")
    assert response.status_code == 302 and response["Location"] == f"/clients/lists/{created.pk}/"
    assert (created.description, created.is_public, created.double_opt_in) == ("Раз в неделю", True, True)


def test_a_list_name_is_unique_ignoring_case(editor, workspace):
    make_list(workspace, "Новости")

    response = editor.post("/clients/lists/new/", {"name": "  новости "})

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["Список с таким названием уже есть."]
    with schema_context(workspace.schema_name):
        assert MailingList.objects.filter(name__iexact="новости").count() == 1


def test_list_index_shows_member_counts_per_status(editor, workspace, clients_of):
    news = make_list(workspace, "Новости")
    a, b, c = clients_of(workspace, "a@example.com", "b@example.com", "c@example.com")
    join(workspace, news, [a, b])
    join(workspace, news, [c], status="unconfirmed")

    with schema_context(workspace.schema_name):
        counted = lists.lists_with_counts().get(pk=news.pk)
    page = editor.get("/clients/lists/").content.decode()

    assert (counted.subscribed_count, counted.unconfirmed_count, counted.unsubscribed_count) == (2, 1, 0)
    assert "Новости" in page


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_read_only_roles_see_lists_but_cannot_change_them(role, workspace, as_role):
    http = as_role(role)
    news = make_list(workspace, "Новости")

    assert http.get("/clients/lists/").status_code == 200
    assert http.get(f"/clients/lists/{news.pk}/").status_code == 200
    for method, url, data in [
        ("get", "/clients/lists/new/", {}),
        ("post", "/clients/lists/new/", {"name": "Другой"}),
        ("post", f"/clients/lists/{news.pk}/edit/", {"name": "Переименован"}),
        ("post", f"/clients/lists/{news.pk}/delete/", {}),
    ]:
        assert getattr(http, method)(url, data).status_code == 404, (method, url)
    with schema_context(workspace.schema_name):
        assert sorted(MailingList.objects.values_list("name", flat=True)) == sorted(
            ["Новости", *MailingList.objects.exclude(pk=news.pk).values_list("name", flat=True)]
        )
        assert not MailingList.objects.filter(name__in=["Другой", "Переименован"]).exists()


def test_member_of_another_workspace_gets_404_for_a_list(other_workspace, member_factory, workspace_client, workspace):
    news = make_list(workspace, "Новости")
    workspace_client.force_login(member_factory(other_workspace, "owner"))

    assert workspace_client.get(f"/clients/lists/{news.pk}/").status_code == 404
    assert workspace_client.get("/clients/lists/").status_code == 404


def test_deleting_a_list_keeps_its_clients(editor, workspace, clients_of):
    news = make_list(workspace, "Новости")
    [ann] = clients_of(workspace, "ann@example.com")
    join(workspace, news, [ann])

    response = editor.post(f"/clients/lists/{news.pk}/delete/")

    assert response.status_code == 302
    with schema_context(workspace.schema_name):
        assert not MailingList.objects.filter(pk=news.pk).exists()
        assert Client.objects.filter(email="ann@example.com").exists()


def test_a_list_a_running_mailing_sends_to_cannot_be_deleted(editor, workspace):
    from tenant_apps.campaigns.models import Mailing, Message

    news = make_list(workspace, "Новости")
    with schema_context(workspace.schema_name):
        now = timezone.now()
        mailing = Mailing.objects.create(
            name="M",
            message=Message.objects.create(subject="s", body_text="b"),
            audience="lists",
            start_at=now,
            end_at=now + timezone.timedelta(days=1),
        )
        mailing.lists.set([news])

    response = editor.post(f"/clients/lists/{news.pk}/delete/", follow=True)

    assert "На этот список отправляет незавершённая рассылка" in response.content.decode()
    with schema_context(workspace.schema_name):
        assert MailingList.objects.filter(pk=news.pk).exists()


# --- a client's lists -----------------------------------------------------------------


def test_client_form_subscribes_to_ticked_lists_and_marks_unticked_ones_unsubscribed(editor, workspace):
    news, offers = make_list(workspace, "Новости"), make_list(workspace, "Акции")
    editor.post("/clients/new/", {"email": "ann@example.com", "is_subscribed": "on", "lists": [news.pk, offers.pk]})
    with schema_context(workspace.schema_name):
        ann = Client.objects.get(email="ann@example.com")

    editor.post(f"/clients/{ann.pk}/edit/", {"email": "ann@example.com", "is_subscribed": "on", "lists": [news.pk]})

    assert membership_states(workspace, news) == {"ann@example.com": "subscribed"}
    assert membership_states(workspace, offers) == {"ann@example.com": "unsubscribed"}
    with schema_context(workspace.schema_name):
        left = Membership.objects.get(mailing_list=offers, client=ann)
    assert left.source == "manual"


def test_client_page_shows_each_list_with_status_and_source(editor, workspace, clients_of):
    news = make_list(workspace, "Новости недели")
    [ann] = clients_of(workspace, "ann@example.com")
    join(workspace, news, [ann], status="unconfirmed")

    page = editor.get(f"/clients/{ann.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-testid="client-memberships"' in page
    assert "Новости недели" in page and "unconfirmed" in page


def test_client_list_filters_by_list_and_the_export_follows(editor, workspace, clients_of):
    news = make_list(workspace, "Новости")
    inside, unconfirmed, _outside = clients_of(workspace, "in@example.com", "wait@example.com", "out@example.com")
    join(workspace, news, [inside])
    join(workspace, news, [unconfirmed], status="unconfirmed")

    listing = editor.get("/clients/", {"list": news.pk})
    exported = b"".join(editor.get("/clients/export/", {"list": news.pk}).streaming_content)

    assert [c.email for c in listing.context["page"].object_list] == ["in@example.com"]
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert [row["email"] for row in rows] == ["in@example.com"]


# --- import into a list ---------------------------------------------------------------------


def test_import_puts_new_and_existing_clients_on_the_chosen_list_but_not_those_who_left_it(
    editor, workspace, clients_of, django_capture_on_commit_callbacks
):
    news = make_list(workspace, "Новости")
    existing, left = clients_of(workspace, "existing@example.com", "left@example.com")
    join(workspace, news, [left], status="unsubscribed")

    with django_capture_on_commit_callbacks(execute=True):
        editor.post(
            "/clients/import/",
            {
                "file": csv_upload("email\nnew@example.com\nEXISTING@example.com\nleft@example.com\n"),
                "target_list": news.pk,
            },
        )

    with schema_context(workspace.schema_name):
        job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.existing_count) == ("done", 1, 2)
    assert membership_states(workspace, news) == {
        "new@example.com": "subscribed",
        "existing@example.com": "subscribed",
        "left@example.com": "unsubscribed",
    }


def test_import_without_a_list_adds_no_memberships(in_workspace):
    job = ImportJob.objects.create(file_name="t.csv", data=b"email\nsolo@example.com\n")

    services.run_import(job)

    assert not Membership.objects.filter(client__email="solo@example.com").exists()


def test_import_into_an_unknown_list_is_refused_and_creates_no_job(editor, workspace):
    response = editor.post("/clients/import/", {"file": csv_upload("email\na@example.com\n"), "target_list": 999999})

    assert response.status_code == 200 and "target_list" in response.context["form"].errors
    with schema_context(workspace.schema_name):
        assert not ImportJob.objects.exists()


# --- the default list -------------------------------------------------------------------------


def test_existing_clients_move_to_one_default_list_keeping_their_unsubscription(in_workspace):
    migration = importlib.import_module("tenant_apps.audience.migrations.0006_default_list")
    MailingList.objects.all().delete()
    stays = Client.objects.create(email="stays@example.com")
    gone_at = timezone.now() - timezone.timedelta(days=3)
    gone = Client.objects.create(email="gone@example.com", is_subscribed=False, unsubscribed_at=gone_at)

    with connection.schema_editor() as editor:
        migration.create_default_list(apps, editor)
        migration.create_default_list(apps, editor)  # a second run changes nothing

    [default] = MailingList.objects.all()
    states = {m.client_id: m for m in Membership.objects.filter(mailing_list=default)}
    assert default.name == migration.DEFAULT_LIST_NAME and not default.double_opt_in
    assert (states[stays.pk].status, states[stays.pk].source) == ("subscribed", "migration")
    assert (states[gone.pk].status, states[gone.pk].changed_at) == ("unsubscribed", gone_at)


def test_a_new_workspace_starts_with_the_default_list(workspace):
    with schema_context(workspace.schema_name):
        assert MailingList.objects.filter(name="Основной список").exists()

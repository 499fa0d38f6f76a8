"""The console's public index follows the services that change mailings and clients; the repair fixes drift."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.console import forms, index, services
from shared_apps.console.models import ClientIndex, MailingIndex
from shared_apps.console.tasks import repair_all
from tenant_apps.audience import services as audience
from tenant_apps.audience.models import Client
from tenant_apps.campaigns import services as campaigns
from tenant_apps.delivery.unsubscribe import resubscribe_client, unsubscribe_client

from .helpers import public_url


def indexed_mailings(workspace):
    return dict(MailingIndex.objects.filter(workspace=workspace).values_list("mailing_id", "name"))


def indexed_clients(workspace):
    return {
        row[0]: row[1:]
        for row in ClientIndex.objects.filter(workspace=workspace).values_list("client_id", "email", "is_subscribed")
    }


def test_disabling_a_mailing_from_the_console_updates_its_index_row(workspace, make_mailing):
    mailing = make_mailing(workspace, "Spring")

    services.set_mailing_disabled(workspace, mailing.pk, True)

    assert MailingIndex.objects.get(workspace=workspace, mailing_id=mailing.pk).disabled_by_manager


def test_a_deleted_mailing_leaves_the_index(workspace, make_mailing):
    kept, gone = make_mailing(workspace, "Kept"), make_mailing(workspace, "Gone")

    with schema_context(workspace.schema_name):
        campaigns.delete_mailing(gone)

    assert indexed_mailings(workspace) == {kept.pk: "Kept"}


def test_client_form_delete_import_and_unsubscribe_keep_the_index(workspace):
    with schema_context(workspace.schema_name):
        ann = audience.save_client(Client(email="ann@example.com"))
        bob = audience.save_client(Client(email="bob@example.com"))
        ann.email = "ann.new@example.com"
        audience.save_client(ann)
        audience.delete_client(bob)
        audience.insert_new_clients([{"email": "cat@example.com", "full_name": "Cat", "comment": ""}])
        cat = Client.objects.get(email="cat@example.com")
        unsubscribe_client(ann)

        ours = {pk: row for pk, row in indexed_clients(workspace).items() if pk in (ann.pk, bob.pk, cat.pk)}
        assert ours == {ann.pk: ("ann.new@example.com", False), cat.pk: ("cat@example.com", True)}
        resubscribe_client(ann)
    assert indexed_clients(workspace)[ann.pk] == ("ann.new@example.com", True)


def test_an_api_bulk_upsert_keeps_the_index(workspace):
    with schema_context(workspace.schema_name):
        ann = audience.save_client(Client(email="ann@example.com"))
        with transaction.atomic():
            audience.upsert_clients(
                [
                    {"email": "ann@example.com", "is_subscribed": False, "fields": {}},
                    {"email": "new@example.com", "fields": {}},
                ]
            )
        new = Client.objects.get(email="new@example.com")

    ours = {pk: row for pk, row in indexed_clients(workspace).items() if pk in (ann.pk, new.pk)}
    assert ours == {ann.pk: ("ann@example.com", False), new.pk: ("new@example.com", True)}


def test_repair_adds_missing_rows_corrects_changed_ones_and_drops_stale_ones(
    workspace, other_workspace, make_mailing, make_client
):
    mailing = make_mailing(workspace, "Right name")
    client = make_client(workspace, "kept@example.com")
    MailingIndex.objects.filter(mailing_id=mailing.pk).update(name="Wrong name")
    ClientIndex.objects.filter(client_id=client.pk).delete()
    ClientIndex.objects.create(workspace=workspace, client_id=999999, email="ghost@example.com", created=client.created)
    other = make_mailing(other_workspace, "Elsewhere")

    totals = repair_all()

    assert indexed_mailings(workspace) == {mailing.pk: "Right name"}
    assert indexed_clients(workspace) == {client.pk: ("kept@example.com", True)}
    assert indexed_mailings(other_workspace) == {other.pk: "Elsewhere"}
    assert not ClientIndex.objects.filter(client_id=999999).exists()
    assert totals["removed"] >= 1 and totals["workspaces"] >= 2


def test_console_lists_read_the_public_index_not_the_workspace_schemas(
    console_client, workspace, other_workspace, make_mailing, make_client
):
    make_mailing(workspace, "In acme")
    make_client(other_workspace, "who@globex.example")

    with CaptureQueriesContext(connection) as captured:
        mailings = console_client.get(public_url("console:mailings"), {"name": "In acme"})
        clients = console_client.get(public_url("console:clients"), {"email": "who@globex"})

    assert [row.name for row in mailings.context["page"]] == ["In acme"]
    assert [row.email for row in clients.context["page"]] == ["who@globex.example"]
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    assert "campaigns_mailing" not in sql and "audience_client" not in sql
    assert workspace.schema_name not in sql and other_workspace.schema_name not in sql


def test_with_many_workspaces_the_filter_takes_a_typed_address_and_refuses_an_unknown_one(
    console_client, workspace, other_workspace, make_mailing, monkeypatch
):
    monkeypatch.setattr(forms, "WORKSPACE_CHOICES_MAX", 1)
    make_mailing(workspace, "In acme")
    make_mailing(other_workspace, "In globex")

    chosen = console_client.get(public_url("console:mailings"), {"workspace": "globex"})
    unknown = console_client.get(public_url("console:mailings"), {"workspace": "nowhere"})

    assert [row.name for row in chosen.context["page"]] == ["In globex"]
    assert unknown.context["page"] is None
    assert "Среди ваших пространств нет пространства с таким адресом." in str(unknown.context["form"].errors)


def test_a_scoped_manager_with_a_typed_address_still_sees_only_their_workspaces(
    public_client, scoped_manager, other_workspace, make_mailing, monkeypatch
):
    monkeypatch.setattr(forms, "WORKSPACE_CHOICES_MAX", 0)
    make_mailing(other_workspace, "Not yours")
    public_client.force_login(scoped_manager)

    response = public_client.get(public_url("console:mailings"), {"workspace": "globex"})

    assert response.context["page"] is None and response.context["form"].errors


def test_index_rows_are_written_with_values_so_a_schema_may_live_elsewhere(workspace, make_client):
    client = make_client(workspace, "row@example.com")

    with schema_context(workspace.schema_name), CaptureQueriesContext(connection) as captured:
        index.clients_saved([index.client_row(client)])

    (write,) = [q["sql"] for q in captured.captured_queries if "console_clientindex" in q["sql"]]
    assert "audience_client" not in write


def test_a_list_counts_up_to_its_cap_and_then_says_more_than(console_client, workspace, make_mailing, monkeypatch):
    from shared_apps.console import views

    monkeypatch.setattr(views.CappedPaginator, "cap", 1)
    make_mailing(workspace, "One")
    make_mailing(workspace, "Two")

    response = console_client.get(public_url("console:mailings"))

    assert response.context["page"].paginator.capped
    assert "Совпадений больше 1" in response.content.decode()

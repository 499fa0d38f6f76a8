"""A client's data rights: export everything held about them, erase them leaving no plain email anywhere."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_attempt, make_client, make_delivery, make_mailing, make_run
from tenant_apps.audience import data_rights
from tenant_apps.audience.models import Client, DataRightsLog, ImportJob, MailingList, Membership
from tenant_apps.delivery import reports
from tenant_apps.delivery.models import Attempt, Delivery
from tenant_apps.engagement import reports as engagement_reports
from tenant_apps.engagement.models import DeliveryEngagement, Hit, Link
from tenant_apps.feedback import services as feedback
from tenant_apps.feedback.models import FeedbackEvent, Suppression

EMAIL = "Bob.Smith+news@Example.org"
SCANNED_TYPES = ("text", "character varying", "json", "jsonb", "bytea")


def places_holding(email, schema):
    """["table.column"] of every text, JSON or bytea column in `schema` whose value contains `email`, any case."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s)",
            [schema, list(SCANNED_TYPES)],
        )
        columns = cursor.fetchall()
        assert len(columns) > 30  # the scan really reads the workspace's tables
        for table, column, data_type in columns:
            value = f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'
            cursor.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE position(lower(%s) in lower({value})) > 0',
                [email],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


@pytest.fixture
def history(in_workspace):
    """The client EMAIL with a list, a mailing sent twice (one bounce echoing the address), an open and a click,
    a bounce event, a suppression, an unfinished import holding their row and a finished one that rejected it."""
    from shared_apps.landing import counters

    client = make_client(EMAIL, full_name="Bob Smith", comment="met at the fair", fields={"city": "Kazan"})
    counters.recipients_added([EMAIL])
    other = make_client("alice@example.org")
    news = MailingList.objects.create(name="News")
    Membership.objects.create(mailing_list=news, client=client, changed_at=timezone.now())
    mailing = make_mailing("Autumn sale")
    mailing.clients.add(client)
    run = make_run(mailing)
    sent = make_delivery(run, "sent", client=client)
    make_attempt(sent, status="success", response="2.0.0 Ok: queued as 4F2A for <bob.smith+news@example.org>")
    make_delivery(run, "sent", client=other)
    second = make_run(mailing, timezone.now() - timedelta(days=7))
    bounced = make_delivery(second, "bounced", client=client)
    Delivery.objects.filter(pk=bounced.pk).update(last_response=f"550 5.1.1 <{EMAIL}>: user unknown")
    make_attempt(
        bounced, status="failure", smtp_code=550, response=f"5.1.1 <{EMAIL.upper()}>: Recipient address rejected"
    )
    event = FeedbackEvent.objects.create(
        delivery=bounced,
        email=EMAIL.lower(),
        kind=FeedbackEvent.Kind.HARD,
        source=FeedbackEvent.Source.SMTP,
        status_code="5.1.1",
        diagnostic=f"smtp; 550 5.1.1 <{EMAIL}>... User unknown",
        occurred_at=timezone.now(),
        raw=f"Final-Recipient: rfc822; {EMAIL}\nQm9iLlNtaXRo (base64 too)",
    )
    Suppression.objects.create(email=EMAIL.lower(), reason=Suppression.Reason.HARD_BOUNCE, event=event)
    link = Link.objects.create(run=run, number=1, url="https://shop.example/sale")
    for hit_id, kind, linked in ((1, "open", None), (2, "click", link)):
        Hit.objects.create(
            hit_id=hit_id,
            kind=kind,
            at=timezone.now(),
            delivery=sent,
            mailing_id=mailing.pk,
            client_id=client.pk,
            link=linked,
            network="192.0.2.0/24",
            agent="Firefox",
        )
    DeliveryEngagement.objects.create(
        delivery=sent, mailing_id=mailing.pk, client_id=client.pk, first_open_at=timezone.now(), opens=1, clicks=1
    )
    ImportJob.objects.create(
        file_name="fair.csv", data=f"email,full_name\r\n{EMAIL},Bob Smith\r\ncarol@example.org,Carol\r\n".encode()
    )
    ImportJob.objects.create(
        file_name="old.csv",
        status=ImportJob.Status.DONE,
        data=b"",
        errors=[[2, "duplicate", {"line": 1}, EMAIL], [3, "invalid", {}, "not-an-email"]],
    )
    return {"client": client, "mailing": mailing, "runs": [run, second], "delivery": sent}


def report_numbers(mailing, runs):
    return {
        "workspace": reports.workspace_totals(),
        "mailing": reports.mailing_counts([mailing.pk]),
        "runs": [(r.sent, r.failed, r.pending, r.skipped, r.total) for r in reports.run_counts(mailing)],
        "engagement": engagement_reports.mailing_figures(mailing.pk),
        "feedback": [feedback.run_figures(run.pk) for run in runs],
        "suppressions": Suppression.objects.count(),
    }


def test_export_holds_fields_lists_deliveries_attempts_tracking_and_feedback(history):
    data = data_rights.export_client(history["client"])

    assert data["client"]["email"] == EMAIL
    assert data["client"]["full_name"] == "Bob Smith"
    assert data["client"]["comment"] == "met at the fair"
    assert data["client"]["custom_fields"] == {"city": "Kazan"}
    assert [m["list"] for m in data["lists"]] == ["News"]
    assert data["chosen_for_mailings"] == [{"mailing": "Autumn sale"}]
    assert sorted(d["status"] for d in data["deliveries"]) == ["bounced", "sent"]
    responses = [a["response"] for d in data["deliveries"] for a in d["attempts"]]
    assert len(responses) == 2 and any("Recipient address rejected" in r for r in responses)
    assert sorted(h["kind"] for h in data["tracking"]) == ["click", "open"]
    assert data["feedback"]["events"][0]["status_code"] == "5.1.1"
    assert data["feedback"]["suppression"]["reason"] == "hard"
    assert "alice@example.org" not in json.dumps(data, default=str)


def test_erased_client_leaves_no_email_anywhere_in_the_schema(history, workspace):
    schema = workspace.schema_name
    assert len(places_holding(EMAIL, schema)) >= 8  # the scan finds what the history wrote

    result = data_rights.erase_client(history["client"], by="owner@example.com")

    assert places_holding(EMAIL, schema) == []
    assert not Client.objects.filter(pk=history["client"].pk).exists()
    assert result.swept == {}  # the sections knew every place
    with schema_context("public"):
        assert places_holding(EMAIL, "public") == []


def test_erased_deliveries_keep_a_hashed_stand_in_and_no_client(history):
    erased = data_rights.erased_address(EMAIL)

    data_rights.erase_client(history["client"], by="owner@example.com")

    deliveries = Delivery.objects.filter(email=erased)
    assert deliveries.count() == 2 and not deliveries.filter(client__isnull=False).exists()
    assert "550 5.1.1 <" + erased + ">: user unknown" in deliveries.values_list("last_response", flat=True)
    assert Attempt.objects.filter(response__contains=erased).count() == 2
    assert erased == data_rights.erased_address(EMAIL.upper()) and erased.endswith("@erased.invalid")
    assert not Hit.objects.filter(client_id=history["client"].pk).exists()


def test_erasure_changes_no_report_number(history):
    before = report_numbers(history["mailing"], history["runs"])

    data_rights.erase_client(history["client"], by="owner@example.com")

    assert report_numbers(history["mailing"], history["runs"]) == before


def test_unfinished_import_loses_the_row_and_keeps_its_line_numbers(history):
    data_rights.erase_client(history["client"], by="owner@example.com")

    job = ImportJob.objects.get(file_name="fair.csv")
    assert bytes(job.data).decode() == "email,full_name\r\n\r\ncarol@example.org,Carol\r\n"
    old = ImportJob.objects.get(file_name="old.csv")
    assert old.errors[0][3] == data_rights.erased_address(EMAIL) and old.errors[1][3] == "not-an-email"


def test_erasure_frees_the_unique_recipient_and_keeps_others(history, home_figures):
    from shared_apps.landing import counters
    from shared_apps.landing.models import RecipientEmail

    counters.recipients_added(["alice@example.org"])
    _mailings, _active, unique_before = home_figures()

    data_rights.erase_client(history["client"], by="owner@example.com")

    assert home_figures()[2] == unique_before - 1
    with schema_context("public"):
        assert not RecipientEmail.objects.filter(email=EMAIL.lower()).exists()
        assert RecipientEmail.objects.filter(email="alice@example.org", refs__gt=0).exists()


# --- through the pages (requests switch the connection's schema: assertions re-enter acme) ---------------


@pytest.fixture
def owner(as_role):
    return as_role("owner")


def test_owner_downloads_the_export_and_it_is_logged(history, owner, workspace):
    client = history["client"]

    response = owner.get(reverse("audience:data_export", args=[client.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="client-{client.pk}-')
    assert json.loads(response.content)["client"]["email"] == EMAIL
    with schema_context(workspace.schema_name):
        log = DataRightsLog.objects.get()
    assert (log.action, log.client_id, log.email_hash) == ("export", client.pk, data_rights.email_hash(EMAIL))
    assert log.by.endswith("@example.com")


def test_owner_erases_after_typing_the_email_and_it_is_logged(history, owner, workspace):
    client = history["client"]

    response = owner.post(reverse("audience:erase", args=[client.pk]), {"confirm_email": EMAIL.lower()})

    assert response.status_code == 302 and response["Location"] == reverse("audience:list")
    with schema_context(workspace.schema_name):
        assert not Client.objects.filter(pk=client.pk).exists()
        log = DataRightsLog.objects.get()
    assert (log.action, log.client_id, log.email_hash) == ("erase", client.pk, data_rights.email_hash(EMAIL))
    page = owner.get(reverse("audience:data_rights_log")).content.decode()
    assert f"#{client.pk}" in page and EMAIL.lower() not in page.lower()


def test_wrong_confirmation_erases_nothing(history, owner, workspace):
    client = history["client"]
    before = report_numbers(history["mailing"], history["runs"])

    response = owner.post(reverse("audience:erase", args=[client.pk]), {"confirm_email": "bob@example.org"})

    assert response.status_code == 200 and 'data-testid="erase-error"' in response.content.decode()
    with schema_context(workspace.schema_name):
        assert Client.objects.filter(pk=client.pk, email=EMAIL).exists()
        assert Delivery.objects.filter(client=client).count() == 2
        assert report_numbers(history["mailing"], history["runs"]) == before
        assert not DataRightsLog.objects.exists()


@pytest.mark.parametrize("role", ["manager", "editor", "viewer"])
def test_only_owners_export_or_erase(history, as_role, workspace, role):
    visitor = as_role(role)
    client = history["client"]

    exported = visitor.get(reverse("audience:data_export", args=[client.pk]))
    erased = visitor.post(reverse("audience:erase", args=[client.pk]), {"confirm_email": EMAIL})

    assert (exported.status_code, erased.status_code) == (404, 404)
    with schema_context(workspace.schema_name):
        assert Client.objects.filter(pk=client.pk).exists()
        assert not DataRightsLog.objects.exists()


def test_member_of_other_workspace_gets_404(history, workspace, other_workspace, member_factory, workspace_client):
    workspace_client.force_login(member_factory(other_workspace, "owner"))
    client = history["client"]

    exported = workspace_client.get(reverse("audience:data_export", args=[client.pk]))
    erased = workspace_client.post(reverse("audience:erase", args=[client.pk]), {"confirm_email": EMAIL})

    assert (exported.status_code, erased.status_code) == (404, 404)
    with schema_context(workspace.schema_name):
        assert Client.objects.filter(pk=client.pk).exists()


def test_client_page_shows_the_owner_its_exports(history, owner, workspace):
    client = history["client"]
    owner.get(reverse("audience:data_export", args=[client.pk]))

    page = owner.get(reverse("audience:detail", args=[client.pk])).content.decode()

    assert 'data-testid="client-data-requests"' in page and 'data-testid="erase-link"' in page

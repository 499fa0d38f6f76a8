"""The suppression list, lifting, feedback settings, and bounce figures on reports, dashboard and mailing page."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection

from shared_apps.deliverability.models import WorkspaceFeedback
from tenant_apps.feedback.incoming import Incoming
from tenant_apps.feedback.models import FeedbackSettings, Suppression, SuppressionLift
from tenant_apps.feedback.services import record_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(workspace, workspace_client, member_factory):
    def sign_in(role):
        user = member_factory(workspace, role)
        workspace_client.force_login(user)
        return user

    return sign_in


@pytest.fixture
def suppressed(workspace, sent_run):
    """Two suppressed addresses in acme, from recorded bounces."""
    _run, (a, b) = sent_run(2, workspace)
    record_events(
        [
            Incoming(kind="hard", source="smtp", delivery_id=a.pk, status_code="5.1.1", diagnostic="User unknown"),
            Incoming(kind="complaint", source="smtp", delivery_id=b.pk, reporting_mta="fbl.mail.example"),
        ]
    )
    rows = {s.email: s for s in Suppression.objects.all()}
    connection.set_schema_to_public()
    return rows[a.email], rows[b.email]


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_every_member_sees_the_suppression_list_with_reason_and_source(as_role, workspace_client, suppressed, role):
    as_role(role)
    page = workspace_client.get("/suppressions/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert suppressed[0].email in text and suppressed[1].email in text
    assert "5.1.1" in text and "fbl.mail.example" in text
    assert ("/lift/" in text) == (role == "owner")


def test_search_finds_by_part_of_the_email(as_role, workspace_client, suppressed):
    as_role("viewer")
    text = workspace_client.get("/suppressions/", {"q": suppressed[0].email[:6].upper()}).content.decode()
    assert suppressed[0].email in text and suppressed[1].email not in text


def test_non_member_gets_404_and_anonymous_is_sent_to_sign_in(workspace_client, user_factory, suppressed):
    assert workspace_client.get("/suppressions/").status_code == 302
    workspace_client.force_login(user_factory())
    assert workspace_client.get("/suppressions/").status_code == 404
    assert workspace_client.get("/suppressions/settings/").status_code == 404


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_may_lift(as_role, workspace_client, suppressed, role, workspace):
    as_role(role)
    url = f"/suppressions/{suppressed[0].pk}/lift/"
    assert workspace_client.get(url).status_code == 404
    assert workspace_client.post(url, {"confirm": "on"}).status_code == 404
    connection.set_tenant(workspace)
    assert Suppression.objects.count() == 2


def test_lifting_needs_the_confirmation_and_is_logged(as_role, workspace_client, suppressed, workspace):
    owner = as_role("owner")
    url = f"/suppressions/{suppressed[0].pk}/lift/"
    assert workspace_client.get(url).status_code == 200
    refused = workspace_client.post(url, {})
    assert refused.status_code == 200 and refused.context["form"].errors
    connection.set_tenant(workspace)
    assert Suppression.objects.count() == 2
    connection.set_schema_to_public()
    assert workspace_client.post(url, {"confirm": "on"}).status_code == 302
    connection.set_tenant(workspace)
    assert list(Suppression.objects.values_list("email", flat=True)) == [suppressed[1].email]
    lift = SuppressionLift.objects.get()
    assert (lift.email, lift.reason, lift.lifted_by) == (suppressed[0].email, "hard", owner.email)


def test_another_workspaces_suppression_is_404(as_role, workspace_client, other_workspace, suppressed):
    connection.set_tenant(other_workspace)
    theirs = Suppression.objects.create(email="theirs@mail.example", reason="hard")
    connection.set_schema_to_public()
    as_role("owner")
    # acme's own rows have ids 1.., globex's row may share one: ask for an id acme does not have.
    missing = max(theirs.pk, suppressed[1].pk) + 1000
    assert workspace_client.get(f"/suppressions/{missing}/lift/").status_code == 404


def test_owner_changes_the_actions_and_bad_values_change_nothing(as_role, workspace_client, workspace):
    as_role("owner")
    form = {
        "rules": "1",
        "hard_bounce_suppresses": "on",
        "soft_bounce_limit": "5",
        "soft_bounce_days": "14",
        "complaint_suppresses": "on",
    }
    assert workspace_client.post("/suppressions/settings/", form).status_code == 302
    bad = workspace_client.post("/suppressions/settings/", {**form, "soft_bounce_days": "0", "soft_bounce_limit": "2"})
    assert bad.status_code == 200 and bad.context["rules_form"].errors
    connection.set_tenant(workspace)
    rules = FeedbackSettings.current()
    assert (rules.soft_bounce_limit, rules.soft_bounce_days, rules.complaint_unsubscribes) == (5, 14, False)


def test_owner_sets_provider_keys_and_sees_the_webhook_urls(as_role, workspace_client, workspace):
    as_role("owner")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    form = {"keys": "1", "sendgrid_public_key": base64.b64encode(der).decode(), "mailgun_signing_key": "k"}
    assert workspace_client.post("/suppressions/settings/", form).status_code == 302
    feedback = WorkspaceFeedback.objects.get(workspace=workspace)
    assert feedback.mailgun_signing_key == "k" and feedback.sendgrid_public_key
    page = workspace_client.get("/suppressions/settings/").content.decode()
    assert f"http://localhost/hooks/sendgrid/{feedback.hook_token}/" in page


def test_a_key_that_is_not_a_public_key_is_refused(as_role, workspace_client, workspace):
    as_role("owner")
    bad = workspace_client.post("/suppressions/settings/", {"keys": "1", "sendgrid_public_key": "bm90IGEga2V5"})
    assert bad.status_code == 200 and bad.context["keys_form"].errors
    half = workspace_client.post("/suppressions/settings/", {"keys": "1", "postmark_username": "only-user"})
    assert half.status_code == 200 and half.context["keys_form"].errors
    assert not WorkspaceFeedback.objects.filter(workspace=workspace).exclude(sendgrid_public_key="").exists()


def test_reports_dashboard_and_mailing_page_show_bounces_complaints_and_rates(
    as_role, workspace_client, workspace, sent_run
):
    run, deliveries = sent_run(4, workspace)
    record_events(
        [
            Incoming(kind="hard", source="smtp", delivery_id=deliveries[0].pk),
            Incoming(kind="complaint", source="smtp", delivery_id=deliveries[1].pk),
        ]
    )
    connection.set_schema_to_public()
    as_role("viewer")
    report = workspace_client.get("/delivery/")  # Russian: "25,0 %"
    assert report.context["totals"]["all"]["sent"] == 4  # bounced and complained were sent first
    text = report.content.decode()
    assert 'data-testid="all-bounced">1<' in text and 'data-testid="all-bounce-rate">25,0 %<' in text
    assert 'data-testid="all-complaint-rate">25,0 %<' in text
    assert sum(report.context["series"]["bounced"]) == 1 and sum(report.context["series"]["complained"]) == 1
    mailing_report = workspace_client.get(f"/delivery/mailings/{run.mailing_id}/").content.decode()
    assert 'data-testid="bounced">1 <span class="small text-muted">25,0 %</span>' in mailing_report
    dashboard = workspace_client.get("/").content.decode()
    assert 'data-testid="count-feedback"' in dashboard and dashboard.count("25,0 %") == 2
    detail = workspace_client.get(f"/mailings/{run.mailing_id}/").content.decode()
    assert 'data-testid="mailing-feedback"' in detail and "25,0 %" in detail

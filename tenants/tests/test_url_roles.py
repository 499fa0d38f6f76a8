"""Every URL of the audience, delivery and workspace URLconfs states who may use it.

A test fails when one of these apps gets a URL that is not listed here, and
each listed URL is requested by every kind of visitor: anonymous visitors are
sent to sign in, people without the right get 404 (never a page, never a
change), the others get through. (Messages and mailings: campaigns/tests/test_access.py;
the console: console/tests/test_access.py.)
"""

import uuid

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from saas.factories import make_client, make_manager
from tenant_apps.api import urls as api_urls
from tenant_apps.audience import urls as audience_urls
from tenant_apps.delivery import urls as delivery_urls
from tenant_apps.webhooks import urls as webhooks_urls
from tenants import urls_workspace
from tenants.invitations import invite

# Who may do what: "read" any member and managers; "change" owners and editors;
# "owner" owners only; "oversee" owners and managers; "open" anyone, signed in or not (links from emails, hand-off).
RULES = {
    # audience
    ("audience:list", "get"): "read",
    ("audience:detail", "get"): "read",
    ("audience:export", "get"): "read",
    ("audience:import", "get"): "read",
    ("audience:import", "post"): "change",
    ("audience:import_detail", "get"): "read",
    ("audience:import_progress", "get"): "read",
    ("audience:create", "get"): "change",
    ("audience:edit", "get"): "change",
    ("audience:delete", "get"): "change",
    ("audience:subscription", "post"): "change",
    ("audience:data_export", "get"): "owner",
    ("audience:erase", "get"): "owner",
    ("audience:erase", "post"): "owner",
    ("audience:data_rights_log", "get"): "owner",
    ("audience:lists", "get"): "read",
    ("audience:list_detail", "get"): "read",
    ("audience:list_create", "get"): "change",
    ("audience:list_edit", "get"): "change",
    ("audience:list_delete", "get"): "change",
    ("audience:list_delete", "post"): "change",
    ("audience:form_create", "get"): "change",
    ("audience:form_detail", "get"): "read",
    ("audience:form_edit", "get"): "change",
    ("audience:form_delete", "get"): "change",
    ("audience:form_delete", "post"): "change",
    ("audience:fields", "get"): "read",
    ("audience:segments", "get"): "read",
    ("audience:segment_detail", "get"): "read",
    ("audience:segment_preview", "get"): "read",
    ("audience:segment_create", "get"): "change",
    ("audience:segment_create", "post"): "change",
    ("audience:segment_edit", "get"): "change",
    ("audience:segment_edit", "post"): "change",
    ("audience:segment_delete", "get"): "change",
    ("audience:segment_delete", "post"): "change",
    ("audience:field_create", "get"): "owner",
    ("audience:field_edit", "get"): "owner",
    ("audience:field_delete", "get"): "owner",
    ("audience:field_delete", "post"): "owner",
    # delivery (reports only read; the unsubscribe page is on the root URLconf)
    ("delivery:reports", "get"): "read",
    ("delivery:mailing_report", "get"): "read",
    # the workspace itself
    ("workspace:sign_out", "get"): "read",
    ("workspace:members", "get"): "owner",
    ("workspace:invite", "post"): "owner",
    ("workspace:change_role", "post"): "owner",
    ("workspace:remove", "post"): "owner",
    ("workspace:revoke", "post"): "owner",
    ("workspace:settings", "get"): "owner",
    # outgoing webhooks: owners manage, everyone else reads the endpoints and their logs
    ("webhooks:index", "get"): "read",
    ("webhooks:detail", "get"): "read",
    ("webhooks:add", "get"): "owner",
    ("webhooks:edit", "get"): "owner",
    ("webhooks:test", "post"): "owner",
    ("webhooks:enable", "post"): "owner",
    ("webhooks:delete", "post"): "owner",
    # the REST API's pages (the API itself, /api/v1/, takes keys: tenant_apps/api/tests)
    ("api:keys", "get"): "oversee",
    ("api:revoke_key", "post"): "owner",
    ("api:schema", "get"): "read",
    ("api:docs", "get"): "read",
    ("api:redoc", "get"): "read",
}
ALLOWED = {
    "read": {"viewer", "manager", "editor", "owner"},
    "change": {"editor", "owner"},
    "owner": {"owner"},
    "oversee": {"owner", "manager"},  # owners act, managers look
}
VISITORS = ["anonymous", "viewer", "manager", "editor", "owner"]


def names_of(module):
    return {f"{module.app_name}:{pattern.name}" for pattern in module.urlpatterns}


def test_every_url_of_these_apps_is_classified():
    listed = {name for name, _method in RULES}

    assert (
        names_of(audience_urls)
        | names_of(delivery_urls)
        | names_of(urls_workspace)
        | names_of(webhooks_urls)
        | names_of(api_urls)
        == listed
    )


@pytest.fixture
def objects(workspace, member_factory):
    """One of everything a URL may point at, in acme."""
    from saas.factories import make_mailing
    from tenant_apps.api.keys import create_key
    from tenant_apps.audience.models import CustomField, ImportJob, MailingList, Segment, SubscriptionForm
    from tenant_apps.webhooks.services import create_endpoint

    teammate = member_factory(workspace, "viewer")
    invitation = invite(
        workspace=workspace, email=f"{uuid.uuid4().hex[:8]}@example.com", role="editor", invited_by=None
    )
    with schema_context(workspace.schema_name):
        client = make_client("target@example.com")
        job = ImportJob.objects.create(file_name="c.csv", data=b"email\n", status="done")
        mailing = make_mailing()
        mailing_list = MailingList.objects.create(name=f"List {uuid.uuid4().hex[:8]}", is_public=True)
        subscription_form = SubscriptionForm.objects.create(mailing_list=mailing_list, title="Join", consent_text="Yes")
        field = CustomField.objects.create(key="city", label="City", type=CustomField.Type.TEXT)
        segment = Segment.objects.create(
            name=f"Segment {uuid.uuid4().hex[:8]}",
            definition={"match": "all", "conditions": [{"kind": "field", "field": "city", "op": "is_not_empty"}]},
        )
        endpoint, _secret = create_endpoint("https://127.0.0.1:9/hook", ["client.unsubscribed"])
        api_key, _secret = create_key(name="guard", access="read", expires_at=None)
    return {
        "api:revoke_key": [api_key.pk],
        "audience:detail": [client.pk],
        "audience:edit": [client.pk],
        "audience:delete": [client.pk],
        "audience:subscription": [client.pk],
        "audience:data_export": [client.pk],
        "audience:erase": [client.pk],
        "audience:import_detail": [job.pk],
        "audience:import_progress": [job.pk],
        "audience:list_detail": [mailing_list.pk],
        "audience:list_edit": [mailing_list.pk],
        "audience:list_delete": [mailing_list.pk],
        "audience:form_create": [mailing_list.pk],
        "audience:form_detail": [subscription_form.pk],
        "audience:form_edit": [subscription_form.pk],
        "audience:form_delete": [subscription_form.pk],
        "audience:field_edit": [field.pk],
        "audience:field_delete": [field.pk],
        "audience:segment_detail": [segment.pk],
        "audience:segment_edit": [segment.pk],
        "audience:segment_delete": [segment.pk],
        "delivery:mailing_report": [mailing.pk],
        "workspace:change_role": [teammate.pk],
        "workspace:remove": [teammate.pk],
        "workspace:revoke": [invitation.pk],
        "webhooks:detail": [endpoint.pk],
        "webhooks:edit": [endpoint.pk],
        "webhooks:test": [endpoint.pk],
        "webhooks:enable": [endpoint.pk],
        "webhooks:delete": [endpoint.pk],
    }


def sign_in(client, visitor, workspace, member_factory, user_factory):
    if visitor == "manager":
        client.force_login(make_manager())
    elif visitor != "anonymous":
        client.force_login(member_factory(workspace, visitor))


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(("name", "method"), sorted(RULES))
def test_each_visitor_gets_what_the_rule_says(
    workspace, workspace_client, member_factory, user_factory, objects, visitor, name, method
):
    sign_in(workspace_client, visitor, workspace, member_factory, user_factory)
    url = reverse(name, args=objects.get(name, []))

    response = getattr(workspace_client, method)(url, {"role": "viewer", "email": "new@example.com"})

    rule = RULES[(name, method)]
    if visitor == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif visitor in ALLOWED[rule]:
        assert response.status_code in (200, 302), response.status_code
    else:
        assert response.status_code == 404

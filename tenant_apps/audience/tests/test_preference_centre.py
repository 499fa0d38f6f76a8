"""The preference centre (/p/<token>/) and the owner's pages for forms and consent records."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from saas import factories
from tenant_apps.audience.models import ConsentRecord, MailingList, Membership, SubscriptionForm
from tenant_apps.delivery.unsubscribe import make_token


@pytest.fixture
def lists(in_workspace):
    return {
        "news": MailingList.objects.create(name="News", is_public=True),
        "offers": MailingList.objects.create(name="Offers", is_public=True),
        "vip": MailingList.objects.create(name="VIP (private)", is_public=False),
    }


@pytest.fixture
def anna(lists):
    client = factories.make_client("anna@example.com", full_name="Анна")
    now = timezone.now()
    for key in ("news", "vip"):
        Membership.objects.create(mailing_list=lists[key], client=client, status="subscribed", changed_at=now)
    return client


def preferences_path(client):
    return reverse("preferences", args=[make_token(connection.schema_name, client.pk)])


def test_the_page_shows_the_public_lists_with_the_recipients_choice_and_no_private_list(anna, workspace_client):
    page = workspace_client.get(preferences_path(anna)).content.decode()

    assert "News" in page and "Offers" in page and "VIP" not in page
    assert 'value="{}" id="id_list_{}" checked'.format(*[MailingList.objects.get(name="News").pk] * 2) in page


def test_saving_changes_the_public_lists_and_the_name_and_leaves_private_lists_alone(anna, lists, workspace_client):
    response = workspace_client.post(preferences_path(anna), {"lists": [lists["offers"].pk], "full_name": "Anna K."})

    assert response.status_code == 200 and b"preferences-saved" in response.content
    states = dict(Membership.objects.filter(client=anna).values_list("mailing_list__name", "status"))
    assert states == {"News": "unsubscribed", "Offers": "subscribed", "VIP (private)": "subscribed"}
    anna.refresh_from_db()
    assert anna.full_name == "Anna K." and anna.is_subscribed


def test_unsubscribe_from_everything_keeps_todays_one_click_semantics_and_a_list_chosen_later_brings_mail_back(
    anna, lists, workspace_client
):
    token = make_token(connection.schema_name, anna.pk)
    workspace_client.post(reverse("unsubscribe", args=[token]), {"List-Unsubscribe": "One-Click"})
    anna.refresh_from_db()
    assert not anna.is_subscribed and anna.unsubscribed_at is not None
    assert b"unsubscribed-everything" in workspace_client.get(preferences_path(anna)).content

    workspace_client.post(preferences_path(anna), {"lists": [lists["news"].pk], "full_name": "Анна"})

    anna.refresh_from_db()
    assert anna.is_subscribed and anna.unsubscribed_at is None


def test_a_too_long_name_is_refused_and_changes_nothing(anna, lists, workspace_client):
    response = workspace_client.post(preferences_path(anna), {"lists": [], "full_name": "x" * 201})

    assert response.status_code == 400
    anna.refresh_from_db()
    assert (
        anna.full_name == "Анна"
        and Membership.objects.get(client=anna, mailing_list=lists["news"]).status == "subscribed"
    )


def test_a_forged_or_foreign_link_shows_nothing(anna, workspace_client):
    assert workspace_client.get(reverse("preferences", args=["forged"])).status_code == 400
    foreign = make_token("ws_other", anna.pk)
    assert workspace_client.get(reverse("preferences", args=[foreign])).status_code == 404


def test_the_unsubscribe_page_links_to_the_preference_centre(anna, workspace_client):
    token = make_token(connection.schema_name, anna.pk)

    page = workspace_client.get(reverse("unsubscribe", args=[token])).content.decode()

    assert reverse("preferences", args=[token]) in page


def test_a_message_may_use_the_preferences_url_placeholder(in_workspace):
    from tenant_apps.campaigns.forms import MessageForm

    form = MessageForm({"subject": "Hi", "body_text": "Manage: {{ preferences_url }}", "body_html": ""})

    assert form.is_valid(), form.errors


# --- the owner's side ----------------------------------------------------------------------------


def test_an_editor_adds_a_form_to_a_public_list_and_sees_its_page_address_and_snippet(lists, as_role):
    client = as_role("editor")
    data = {
        "title": "Join us",
        "text": "Weekly",
        "consent_text": "I agree",
        "shown_fields": ["full_name"],
        "thank_you_url": "https://shop.example/thanks",
        "allowed_hosts": "Shop.example\n",
    }

    response = client.post(reverse("audience:form_create", args=[lists["news"].pk]), data)

    form = SubscriptionForm.objects.get()
    assert response.status_code == 302 and form.allowed_hosts == "shop.example"
    page = client.get(reverse("audience:form_detail", args=[form.pk])).content.decode()
    assert (
        f"/f/{form.slug}/" in page and "&lt;form method=&quot;post&quot;" in page and "name=&quot;website&quot;" in page
    )
    assert "Join us" in client.get(reverse("audience:list_detail", args=[lists["news"].pk])).content.decode()


def test_a_thank_you_page_off_the_allowed_sites_is_refused(lists, as_role):
    client = as_role("editor")
    data = {"title": "Join", "consent_text": "I agree", "thank_you_url": "https://evil.example/", "allowed_hosts": ""}

    response = client.post(reverse("audience:form_create", args=[lists["news"].pk]), data)

    assert response.status_code == 200 and not SubscriptionForm.objects.exists()


def test_a_private_list_gets_no_form(lists, as_role):
    client = as_role("editor")

    response = client.post(reverse("audience:form_create", args=[lists["vip"].pk]), {"title": "x", "consent_text": "y"})

    assert response.status_code == 302 and not SubscriptionForm.objects.exists()


def test_the_client_page_shows_the_consent_records(anna, lists, as_role):
    form = SubscriptionForm.objects.create(mailing_list=lists["news"], title="Join", consent_text="Да, присылайте")
    ConsentRecord.objects.create(
        client=anna,
        mailing_list=lists["news"],
        form=form,
        requested_at=timezone.now(),
        confirmed_at=timezone.now(),
        network="203.0.113.0/24",
        user_agent_family="Firefox",
        consent_text="Да, присылайте",
    )

    page = as_role("viewer").get(reverse("audience:detail", args=[anna.pk])).content.decode()

    assert 'data-testid="consent-records"' in page and "203.0.113.0/24" in page and "Да, присылайте" in page

"""Sign-up forms, double opt-in and consent evidence, against PostgreSQL, Redis and SMTP over TCP."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from saas import factories
from tenant_apps.audience import subscriptions
from tenant_apps.audience.models import Client, ConsentRecord, MailingList, Membership, SubscriptionForm
from tenant_apps.delivery.tests.conftest import (  # noqa: F401 - the engine's SMTP fixtures
    _fresh_worker_connection,
    engine_settings,
    smtp_server,
)

CONSENT = "I agree to receive the Acme newsletter; I can leave at any time."


@pytest.fixture
def newsletter(in_workspace):
    mailing_list = MailingList.objects.create(name="Newsletter", is_public=True)
    return SubscriptionForm.objects.create(
        mailing_list=mailing_list,
        title="Acme news",
        text="Once a week, no spam.",
        consent_text=CONSENT,
        shown_fields=["full_name"],
    )


@pytest.fixture
def mail(engine_settings, smtp_server):  # noqa: F811
    engine_settings(smtp_server.port)
    return smtp_server


@pytest.fixture
def post(workspace_client, django_capture_on_commit_callbacks):
    """Post to a form as a visitor's browser would (English, Firefox, from 203.0.113.57)."""

    def send(form, data, **headers):
        headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
        headers.setdefault("HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
        headers.setdefault("REMOTE_ADDR", "203.0.113.57")
        with django_capture_on_commit_callbacks(execute=True):
            return workspace_client.post(reverse("subscribe", args=[form.slug]), data, **headers)

    return send


def confirm_link(message):
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/f/confirm/\S+/", text).group(0)


def confirm(workspace_client, link, django_capture_on_commit_callbacks):
    path = link.split("localhost", 1)[1].split("/", 1)[1]
    with django_capture_on_commit_callbacks(execute=True):
        return workspace_client.post("/" + path)


def test_hosted_page_shows_the_workspace_name_the_owners_text_and_speaks_the_browsers_language(
    newsletter, workspace_client
):
    english = workspace_client.get(reverse("subscribe", args=[newsletter.slug]), HTTP_ACCEPT_LANGUAGE="en")
    russian = workspace_client.get(reverse("subscribe", args=[newsletter.slug]), HTTP_ACCEPT_LANGUAGE="ru")

    page = english.content.decode()
    assert english.status_code == 200 and newsletter.mailing_list.name not in ("",)
    assert connection.tenant.name in page and "Once a week, no spam." in page and CONSENT in page
    assert 'name="full_name"' in page and ">Subscribe<" in page
    assert "Подписаться" in russian.content.decode()


def test_a_private_lists_form_is_not_found(newsletter, workspace_client):
    MailingList.objects.filter(pk=newsletter.mailing_list_id).update(is_public=False)

    assert workspace_client.get(reverse("subscribe", args=[newsletter.slug])).status_code == 404


def test_a_form_post_by_a_bot_with_the_honeypot_filled_creates_nothing(newsletter, post, mail):
    response = post(newsletter, {"email": "bot@example.com", "website": "http://spam.example"})

    assert response.status_code == 303, "told all went well"
    assert not Client.objects.exists() and not Membership.objects.exists() and not ConsentRecord.objects.exists()
    assert mail.messages == []


def test_a_sign_up_makes_an_unconfirmed_member_and_sends_a_translated_confirmation_naming_the_workspace(
    newsletter, post, mail, workspace_client
):
    response = post(newsletter, {"email": "Anna@Example.com", "full_name": "Anna"})

    assert response.status_code == 303 and response["Location"].endswith("?done=confirm")
    assert b"check your email" in workspace_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content
    client = Client.objects.get()
    assert client.email == "Anna@Example.com" and client.full_name == "Anna"
    assert not client.is_subscribed, "a new address counts as subscribed only once confirmed"
    assert Membership.objects.get().status == Membership.Status.UNCONFIRMED
    (rcpt, message, _session) = mail.messages[0]
    assert rcpt == "Anna@Example.com"
    assert message["Subject"] == f"Confirm your subscription to {connection.tenant.name}"
    assert "/f/confirm/" in confirm_link(message)


def test_the_confirmation_is_in_russian_for_a_russian_browser(newsletter, post, mail):
    post(newsletter, {"email": "ivan@example.com"}, HTTP_ACCEPT_LANGUAGE="ru")

    assert mail.messages[0][1]["Subject"] == f"Подтвердите подписку на {connection.tenant.name}"


def test_a_second_sign_up_before_confirmation_sends_no_second_email_within_the_hour(newsletter, post, mail):
    post(newsletter, {"email": "anna@example.com"})
    post(newsletter, {"email": "anna@example.com"})
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=59), tick=False):
        post(newsletter, {"email": "ANNA@example.com"})

    assert mail.recipients == ["anna@example.com"]
    assert ConsentRecord.objects.count() == 1, "the first sign-up's evidence is kept while it waits"


def test_concurrent_posts_win_at_most_one_confirmation_per_address_per_hour(in_workspace):
    winners, barrier = [], threading.Barrier(8)

    def race():
        barrier.wait()
        winners.append(subscriptions.first_confirmation_this_hour("flood@example.com"))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(winners) == [False] * 7 + [True]


def test_a_confirmed_subscriber_is_in_the_lists_next_run_and_an_unconfirmed_one_is_not(
    newsletter, post, mail, workspace_client, django_capture_on_commit_callbacks
):
    from tenant_apps.delivery import engine
    from tenant_apps.delivery.models import Delivery

    post(newsletter, {"email": "yes@example.com"})
    post(newsletter, {"email": "later@example.com"}, REMOTE_ADDR="198.51.100.7")
    link = confirm_link(next(m for r, m, _s in mail.messages if r == "yes@example.com"))
    assert confirm(workspace_client, link, django_capture_on_commit_callbacks).status_code == 200
    mailing = factories.make_mailing(audience="lists")
    mailing.lists.set([newsletter.mailing_list])
    run = factories.make_run(mailing)

    engine.create_deliveries(run, mailing)

    assert list(Delivery.objects.filter(run=run).values_list("email", flat=True)) == ["yes@example.com"]
    assert Client.objects.get(email="yes@example.com").is_subscribed
    assert Membership.objects.get(client__email="later@example.com").status == Membership.Status.UNCONFIRMED


def test_the_consent_record_keeps_time_network_browser_form_and_the_exact_text(
    newsletter, post, mail, workspace_client, django_capture_on_commit_callbacks
):
    post(newsletter, {"email": "anna@example.com"})
    record = ConsentRecord.objects.get()
    assert record.confirmed_at is None

    confirm(workspace_client, confirm_link(mail.messages[0][1]), django_capture_on_commit_callbacks)

    record.refresh_from_db()
    assert record.confirmed_at is not None and record.requested_at <= record.confirmed_at
    assert record.network == "203.0.113.0/24" and record.user_agent_family == "Firefox"
    assert record.form == newsletter and record.mailing_list == newsletter.mailing_list
    assert record.consent_text == CONSENT and record.client.consent_records.get() == record
    NewsletterForm = SubscriptionForm.objects.filter(pk=newsletter.pk)
    NewsletterForm.update(consent_text="Changed later")
    record.refresh_from_db()
    assert record.consent_text == CONSENT, "the text shown then, not the form's current one"


def test_the_confirmation_link_is_single_use_and_lasts_seven_days(
    newsletter, post, mail, workspace_client, django_capture_on_commit_callbacks
):
    post(newsletter, {"email": "anna@example.com"})
    link = confirm_link(mail.messages[0][1])
    path = "/" + link.split("localhost", 1)[1].split("/", 1)[1]

    asked = workspace_client.get(path)
    assert b"confirm-ask" in asked.content and ConsentRecord.objects.get().confirmed_at is None, "GET changes nothing"
    first = confirm(workspace_client, link, django_capture_on_commit_callbacks)
    again = confirm(workspace_client, link, django_capture_on_commit_callbacks)

    assert b'data-testid="confirmed"' in first.content and b'data-testid="confirm-used"' in again.content
    post(newsletter, {"email": "late@example.com"})
    late_link = confirm_link(mail.messages[-1][1])
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        expired = confirm(workspace_client, late_link, django_capture_on_commit_callbacks)
    assert expired.status_code == 400 and b'data-testid="confirm-expired"' in expired.content
    assert Membership.objects.get(client__email="late@example.com").status == Membership.Status.UNCONFIRMED
    forged = workspace_client.post(path.replace("/f/confirm/", "/f/confirm/x"))
    assert forged.status_code == 400


def test_a_welcome_message_is_sent_after_confirmation_and_only_then(
    newsletter, post, mail, workspace_client, django_capture_on_commit_callbacks
):
    newsletter.welcome_message = factories.make_message("Welcome, {{ name }}", "Glad you are here, {{ name }}.")
    newsletter.save()
    post(newsletter, {"email": "anna@example.com", "full_name": "Anna"})
    assert len(mail.messages) == 1

    link = confirm_link(mail.messages[0][1])
    confirm(workspace_client, link, django_capture_on_commit_callbacks)
    confirm(workspace_client, link, django_capture_on_commit_callbacks)

    assert [m["Subject"] for _r, m, _s in mail.messages[1:]] == ["Welcome, Anna"]


def test_a_list_without_double_opt_in_subscribes_at_once_with_its_consent_record(newsletter, post, mail):
    MailingList.objects.filter(pk=newsletter.mailing_list_id).update(double_opt_in=False)

    response = post(newsletter, {"email": "now@example.com"})

    assert response.status_code == 303 and response["Location"].endswith("?done=subscribed")
    assert Membership.objects.get().status == Membership.Status.SUBSCRIBED
    assert Client.objects.get().is_subscribed and ConsentRecord.objects.get().confirmed_at is not None
    assert mail.messages == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": ""}, b"Enter your email address."),
        ({"email": "not-an-address"}, b"This is not a valid email address."),
        ({"email": "a" * 250 + "@example.com"}, b"This is too long"),
        ({"email": "a\x00b@example.com"}, b"character that is not allowed"),
        ({"email": "ok@example.com", "full_name": "x" * 201}, b"This is too long"),
        ({"email": "ok@example.com", "full_name": "An\x00na"}, b"character that is not allowed"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(newsletter, post, mail, data, message):
    response = post(newsletter, data)

    assert response.status_code == 400 and message in response.content
    assert not Client.objects.exists() and mail.messages == []


def test_the_per_network_limit_refuses_a_flood_with_a_message(newsletter, post, mail, settings):
    settings.SUBSCRIPTION_FORM_LIMITS = {"window": 60, "per_ip": 3, "per_form": 100}

    answers = [post(newsletter, {"email": f"n{i}@example.com"}).status_code for i in range(5)]
    other_network = post(newsletter, {"email": "other@example.com"}, REMOTE_ADDR="192.0.2.10")

    assert answers == [303, 303, 303, 429, 429] and other_network.status_code == 303
    assert Client.objects.count() == 4


def test_the_per_form_limit_holds_across_networks(newsletter, post, mail, settings):
    settings.SUBSCRIPTION_FORM_LIMITS = {"window": 60, "per_ip": 100, "per_form": 2}

    answers = [
        post(newsletter, {"email": f"n{i}@example.com"}, REMOTE_ADDR=f"10.0.{i}.1").status_code for i in range(3)
    ]

    assert answers == [303, 303, 429]


def test_the_visitor_goes_back_to_the_thank_you_page_only_on_an_allowed_site(newsletter, post, mail):
    SubscriptionForm.objects.filter(pk=newsletter.pk).update(
        thank_you_url="https://shop.example/thanks", allowed_hosts="shop.example"
    )
    newsletter.refresh_from_db()
    assert post(newsletter, {"email": "a@example.com"})["Location"] == "https://shop.example/thanks"

    SubscriptionForm.objects.filter(pk=newsletter.pk).update(allowed_hosts="other.example")
    newsletter.refresh_from_db()
    assert "shop.example" not in post(newsletter, {"email": "b@example.com"})["Location"]


def test_an_existing_client_is_not_changed_by_a_strangers_post(newsletter, post, mail):
    factories.make_client("anna@example.com", full_name="Анна")

    post(newsletter, {"email": "anna@example.com", "full_name": "Someone else"})

    assert Client.objects.get().full_name == "Анна"


# --- the workspace's client limit ----------------------------------------------------------------


def fill_the_workspace(workspace, *emails):
    """The workspace has exactly as many clients as its limit allows."""
    for email in emails:
        factories.make_client(email)
    workspace.clients_max = Client.objects.count()
    workspace.save(update_fields=["clients_max"])


def test_a_new_address_at_the_client_limit_is_refused_on_the_form_and_nothing_is_queued(
    in_workspace, newsletter, post, mail
):
    fill_the_workspace(in_workspace, "anna@example.com")

    english = post(newsletter, {"email": "new@example.com", "full_name": "New"})
    russian = post(newsletter, {"email": "new@example.com"}, HTTP_ACCEPT_LANGUAGE="ru")

    assert english.status_code == 403
    assert b"This list cannot take new subscribers at the moment." in english.content
    assert b'value="new@example.com"' in english.content, "the form keeps what the visitor typed"
    assert "Этот список сейчас не может принять новых подписчиков." in russian.content.decode()
    assert list(Client.objects.values_list("email", flat=True)) == ["anna@example.com"]
    assert not Membership.objects.exists() and not ConsentRecord.objects.exists() and mail.messages == []
    newsletter.refresh_from_db()
    assert newsletter.dropped_signups == 0, "a refusal the visitor saw is not a dropped sign-up"


def test_an_address_already_in_the_workspace_signs_up_at_the_client_limit(in_workspace, newsletter, post, mail):
    fill_the_workspace(in_workspace, "anna@example.com")

    response = post(newsletter, {"email": "ANNA@example.com"})

    assert response.status_code == 303 and response["Location"].endswith("?done=confirm")
    assert Membership.objects.get().status == Membership.Status.UNCONFIRMED
    assert [rcpt for rcpt, _message, _session in mail.messages] == ["anna@example.com"]


def test_without_a_client_limit_a_new_address_is_taken(in_workspace, newsletter, post, mail):
    factories.make_client("anna@example.com")
    in_workspace.clients_max = 0  # 0 = unlimited, as the platform default may be
    in_workspace.save(update_fields=["clients_max"])

    assert post(newsletter, {"email": "new@example.com"}).status_code == 303
    assert Client.objects.count() == 2


def run_queued_signup(form, email, capture):
    """The queued task of a post that found room, running when the workspace has none left."""
    from dataclasses import asdict

    from tenant_apps.audience.tasks import record_signup

    signup = subscriptions.SignUp(email=email)
    visitor = subscriptions.Visitor(network="203.0.113.0/24", user_agent_family="Firefox", language="en")
    with capture(execute=True):
        record_signup(connection.schema_name, form.pk, asdict(signup), asdict(visitor))


def test_a_queued_sign_up_that_meets_a_full_workspace_is_counted_and_the_owner_mailed_once_a_day(
    in_workspace, newsletter, mail, member_factory, workspace_client, django_capture_on_commit_callbacks
):
    from django.core import mail as outbox

    owner = member_factory(in_workspace, "owner")
    in_workspace.owner = owner
    in_workspace.save(update_fields=["owner"])
    fill_the_workspace(in_workspace, "anna@example.com")
    workspace_client.force_login(owner)
    quiet_page = workspace_client.get(f"/clients/forms/{newsletter.pk}/").content.decode()

    run_queued_signup(newsletter, "late1@example.com", django_capture_on_commit_callbacks)
    run_queued_signup(newsletter, "late2@example.com", django_capture_on_commit_callbacks)

    newsletter.refresh_from_db()
    assert newsletter.dropped_signups == 2 and newsletter.last_dropped_at is not None
    assert list(Client.objects.values_list("email", flat=True)) == ["anna@example.com"]
    assert mail.messages == [], "no confirmation for a sign-up that was not taken"
    [notice] = outbox.outbox
    assert notice.to == [owner.email] and "Acme news" in notice.body and "1" in notice.body
    form_page = workspace_client.get(f"/clients/forms/{newsletter.pk}/").content.decode()
    list_page = workspace_client.get(f"/clients/lists/{newsletter.mailing_list_id}/").content.decode()
    assert 'data-testid="dropped-signups"' not in quiet_page
    assert 'data-testid="dropped-signups"' in form_page and "2 регистрации через эту форму потеряны" in form_page
    assert "2 регистрации потеряны" in list_page

    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        run_queued_signup(newsletter, "late3@example.com", django_capture_on_commit_callbacks)

    assert len(outbox.outbox) == 2, "a new day, a new email"

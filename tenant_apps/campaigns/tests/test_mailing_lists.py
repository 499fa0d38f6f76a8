"""A mailing may be sent to the subscribers of chosen lists."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tenant_apps.audience.models import MailingList, Membership
from tenant_apps.campaigns.models import Mailing
from tenant_apps.campaigns.services import recipient_count

from .test_mailings import form_data

pytestmark = pytest.mark.django_db


def test_editor_creates_a_mailing_to_lists_and_the_chosen_clients_are_dropped(editor_client, make_message, make_client):
    news = MailingList.objects.create(name="Новости")
    ann = make_client()

    response = editor_client.post(
        reverse("campaigns:mailing_create"),
        form_data(make_message(), audience="lists", lists=[news.pk], clients=str(ann.pk)),
    )

    mailing = Mailing.objects.get(name="Winter news")
    assert response.status_code == 302
    assert (mailing.audience, list(mailing.lists.all()), mailing.clients.count()) == ("lists", [news], 0)


def test_a_mailing_to_lists_needs_at_least_one_list_or_segment(editor_client, make_message):
    response = editor_client.post(reverse("campaigns:mailing_create"), form_data(make_message(), audience="lists"))

    assert response.status_code == 200
    assert response.context["form"].errors["lists"] == ["Выберите хотя бы один список или сегмент."]
    assert not Mailing.objects.exists()


def test_switching_a_mailing_away_from_lists_forgets_its_lists(editor_client, make_message, make_client):
    news = MailingList.objects.create(name="Новости")
    make_client()
    message = make_message()
    editor_client.post(reverse("campaigns:mailing_create"), form_data(message, audience="lists", lists=[news.pk]))
    mailing = Mailing.objects.get()

    editor_client.post(reverse("campaigns:mailing_edit", args=[mailing.pk]), form_data(message, audience="all"))

    assert mailing.lists.count() == 0


def test_recipient_count_of_a_mailing_to_lists_counts_each_subscribed_client_once(
    in_workspace, make_mailing, make_client
):
    first, second = MailingList.objects.create(name="Один"), MailingList.objects.create(name="Два")
    both, unconfirmed, gone = make_client(), make_client(), make_client(subscribed=False)
    now = timezone.now()
    for mailing_list, client, status in [
        (first, both, "subscribed"),
        (second, both, "subscribed"),
        (first, unconfirmed, "unconfirmed"),
        (second, gone, "subscribed"),
    ]:
        Membership.objects.create(mailing_list=mailing_list, client=client, status=status, changed_at=now)
    mailing = make_mailing(audience="lists")
    mailing.lists.set([first, second])

    assert recipient_count(mailing) == 1


def test_the_mailing_page_names_its_lists(editor_client, make_mailing):
    news = MailingList.objects.create(name="Новости недели")
    mailing = make_mailing(audience="lists")
    mailing.lists.set([news])

    page = editor_client.get(reverse("campaigns:mailing_detail", args=[mailing.pk])).content.decode()

    assert "Новости недели" in page


def test_editor_sends_a_mailing_to_a_segment_alone_and_its_page_names_it(editor_client, make_message):
    from tenant_apps.audience.models import Segment

    segment = Segment.objects.create(
        name="Все на букву a",
        definition={"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": "a"}]},
    )

    response = editor_client.post(
        reverse("campaigns:mailing_create"), form_data(make_message(), audience="lists", segments=[segment.pk])
    )

    mailing = Mailing.objects.get(name="Winter news")
    assert response.status_code == 302
    assert (list(mailing.lists.all()), list(mailing.segments.all())) == ([], [segment])
    page = editor_client.get(reverse("campaigns:mailing_detail", args=[mailing.pk])).content.decode()
    assert "Все на букву a" in page

"""A mailing sent to segments (and lists): a run resolves them once, at its start, in one INSERT … SELECT."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenant_apps.audience import segments
from tenant_apps.audience.models import Client, CustomField, MailingList, Membership, Segment
from tenant_apps.campaigns import services as campaigns
from tenant_apps.delivery import services
from tenant_apps.delivery.models import Delivery
from tenant_apps.feedback.models import Suppression

pytestmark = pytest.mark.django_db


def city_segment(city):
    CustomField.objects.get_or_create(key="city", defaults={"label": "Город"})
    definition = {"match": "all", "conditions": [{"kind": "field", "field": "city", "op": "equals", "value": city}]}
    return segments.save_segment(Segment(), f"Город {city}", definition)


def live_in(city, clients):
    Client.objects.filter(pk__in=[c.pk for c in clients]).update(fields={"city": city})


def recipients_of_first_run(mailing, workspace):
    (run,) = services.prepare_due_runs(mailing, workspace=workspace)
    return sorted(Delivery.objects.filter(run=run).values_list("email", flat=True))


def test_run_to_a_segment_reaches_exactly_its_subscribed_matching_clients(in_workspace, make_mailing):
    mailing = make_mailing(4, audience="lists")
    kazan, unsubscribed, suppressed, moscow = mailing.subscribed_clients
    live_in("Казань", [kazan, unsubscribed, suppressed])
    live_in("Москва", [moscow])
    Client.objects.filter(pk=unsubscribed.pk).update(is_subscribed=False)
    Suppression.objects.create(email=suppressed.email, reason="bounce")
    mailing.segments.set([city_segment("Казань")])

    assert recipients_of_first_run(mailing, in_workspace) == [kazan.email]


def test_a_client_in_a_list_and_a_segment_gets_one_delivery(in_workspace, make_mailing):
    mailing = make_mailing(3, audience="lists")
    both, list_only, segment_only = mailing.subscribed_clients
    news = MailingList.objects.create(name="Новости")
    for client in (both, list_only):
        Membership.objects.create(mailing_list=news, client=client, changed_at=timezone.now())
    live_in("Казань", [both, segment_only])
    mailing.lists.set([news])
    mailing.segments.set([city_segment("Казань")])

    assert recipients_of_first_run(mailing, in_workspace) == sorted([both.email, list_only.email, segment_only.email])


def test_the_mailing_page_count_agrees_with_the_run(in_workspace, make_mailing):
    mailing = make_mailing(3, audience="lists")
    live_in("Казань", mailing.subscribed_clients[:2])
    mailing.segments.set([city_segment("Казань")])

    assert campaigns.recipient_count(mailing) == 2 == len(recipients_of_first_run(mailing, in_workspace))


def test_a_segment_used_by_a_mailing_cannot_be_deleted(in_workspace, make_mailing):
    mailing = make_mailing(1, audience="lists")
    segment = city_segment("Казань")
    mailing.segments.set([segment])

    with pytest.raises(segments.SegmentInUse):
        segments.delete_segment(segment)
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_a_run_resolves_a_relative_date_segment_at_its_start(in_workspace, make_mailing):
    mailing = make_mailing(3, audience="lists")
    fresh, month_old, year_old = mailing.subscribed_clients
    Client.objects.filter(pk=month_old.pk).update(created=timezone.now() - timedelta(days=40))
    Client.objects.filter(pk=year_old.pk).update(created=timezone.now() - timedelta(days=400))
    definition = {"match": "all", "conditions": [{"kind": "added", "op": "more_than_days_ago", "value": 30}]}
    mailing.segments.set([segments.save_segment(Segment(), "Давние", definition)])

    assert recipients_of_first_run(mailing, in_workspace) == sorted([month_old.email, year_old.email])

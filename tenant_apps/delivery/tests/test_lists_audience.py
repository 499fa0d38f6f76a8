"""A mailing sent to lists: a run resolves its recipients once, at its start."""

import pytest

from tenant_apps.audience.models import Client, MailingList, Membership
from tenant_apps.delivery import services
from tenant_apps.delivery.models import Delivery

pytestmark = pytest.mark.django_db


def join(mailing_list, clients, status="subscribed"):
    from django.utils import timezone

    Membership.objects.bulk_create(
        Membership(mailing_list=mailing_list, client=c, status=status, changed_at=timezone.now()) for c in clients
    )


def recipients_of_first_run(mailing, workspace):
    (run,) = services.prepare_due_runs(mailing, workspace=workspace)
    return sorted(Delivery.objects.filter(run=run).values_list("email", flat=True))


def test_run_to_a_list_reaches_its_subscribed_members_and_not_the_unconfirmed_or_unsubscribed(
    in_workspace, make_mailing
):
    mailing = make_mailing(5, audience="lists")
    news = MailingList.objects.create(name="Новости")
    a, b, c, d, _outsider = mailing.subscribed_clients
    join(news, [a, b])
    join(news, [c], status="unconfirmed")
    join(news, [d], status="unsubscribed")
    mailing.lists.set([news])

    assert recipients_of_first_run(mailing, in_workspace) == sorted([a.email, b.email])


def test_a_client_on_two_chosen_lists_gets_one_delivery(in_workspace, make_mailing):
    mailing = make_mailing(2, audience="lists")
    first, second = MailingList.objects.create(name="Один"), MailingList.objects.create(name="Два")
    both, only_second = mailing.subscribed_clients
    join(first, [both])
    join(second, [both, only_second])
    mailing.lists.set([first, second])

    assert recipients_of_first_run(mailing, in_workspace) == sorted([both.email, only_second.email])


def test_a_list_member_unsubscribed_from_everything_is_not_a_recipient(in_workspace, make_mailing):
    mailing = make_mailing(2, audience="lists")
    news = MailingList.objects.create(name="Новости")
    stays, leaves = mailing.subscribed_clients
    join(news, [stays, leaves])
    Client.objects.filter(pk=leaves.pk).update(is_subscribed=False)
    mailing.lists.set([news])

    assert recipients_of_first_run(mailing, in_workspace) == [stays.email]


def test_members_of_a_list_the_mailing_does_not_target_are_not_recipients(in_workspace, make_mailing):
    mailing = make_mailing(2, audience="lists")
    chosen, other = MailingList.objects.create(name="Выбранный"), MailingList.objects.create(name="Другой")
    inside, outside = mailing.subscribed_clients
    join(chosen, [inside])
    join(other, [outside])
    mailing.lists.set([chosen])

    assert recipients_of_first_run(mailing, in_workspace) == [inside.email]


def test_a_sent_message_carries_the_recipients_custom_field_value(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    from tenant_apps.audience.models import CustomField
    from tenant_apps.delivery import engine

    engine_settings(smtp_server.port)
    CustomField.objects.create(key="city", label="Город")
    mailing = make_mailing(2)
    kazan, nowhere = mailing.subscribed_clients
    Client.objects.filter(pk=kazan.pk).update(fields={"city": "Казань"})
    mailing.message.body_text = "Город: [{{ fields.city }}]"
    mailing.message.save()

    for run in services.prepare_due_runs(mailing, workspace=in_workspace):
        engine.process_run(run, in_workspace)

    texts = {
        rcpt: message.get_body(preferencelist=("plain",)).get_content() for rcpt, message, _ in smtp_server.messages
    }
    assert "Город: [Казань]" in texts[kazan.email]
    assert "Город: []" in texts[nowhere.email]


def test_a_mailing_to_lists_whose_lists_are_gone_reaches_nobody(in_workspace, make_mailing):
    mailing = make_mailing(2, audience="lists")

    assert recipients_of_first_run(mailing, in_workspace) == []

"""Lists and list memberships: saving, counts, a client's lists, and the
recipients of a mailing sent to lists.

Everything here runs inside the current workspace schema.
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tenant_apps.webhooks import events as webhook_events

from .models import Client, MailingList, Membership

Status = Membership.Status


def lists_with_counts() -> QuerySet:
    """Every list with its number of members per status (one query)."""
    return MailingList.objects.annotate(
        subscribed_count=Count("memberships", filter=Q(memberships__status=Status.SUBSCRIBED)),
        unconfirmed_count=Count("memberships", filter=Q(memberships__status=Status.UNCONFIRMED)),
        unsubscribed_count=Count("memberships", filter=Q(memberships__status=Status.UNSUBSCRIBED)),
    ).order_by("name")


def name_taken(name: str, exclude_pk: int | None = None) -> bool:
    lists = MailingList.objects.filter(name__iexact=name.strip())
    if exclude_pk is not None:
        lists = lists.exclude(pk=exclude_pk)
    return lists.exists()


class ListInUse(Exception):
    """A mailing that may still send targets the list."""


def delete_list(mailing_list: MailingList) -> None:
    """Delete a list and its memberships; the clients stay.

    Refused while a mailing that is not completed targets it: that mailing
    would silently send to nobody.
    """
    from tenant_apps.campaigns.models import Mailing

    with transaction.atomic():
        users = Mailing.objects.filter(lists=mailing_list).exclude(status=Mailing.Status.COMPLETED)
        if users.exists():
            raise ListInUse
        mailing_list.delete()


def client_memberships(client: Client) -> QuerySet:
    return client.memberships.select_related("mailing_list").order_by("mailing_list__name")


def subscribed_lists(client: Client) -> QuerySet:
    return MailingList.objects.filter(memberships__client=client, memberships__status=Status.SUBSCRIBED)


@transaction.atomic
def set_client_lists(client: Client, chosen: Iterable[MailingList], source: str = Membership.Source.MANUAL) -> None:
    """Make `chosen` the lists the client is subscribed to.

    A newly chosen list subscribes them (an unconfirmed membership is
    confirmed by a person here); a list no longer chosen keeps the row as
    unsubscribed, so its history stays. Rows that do not change keep their time
    and source.
    """
    now = timezone.now()
    chosen_ids = {item.pk for item in chosen}
    current = {m.mailing_list_id: m for m in client.memberships.select_for_update()}
    joined, left = [], []
    for list_id in sorted(chosen_ids):
        membership = current.get(list_id)
        if membership is None:
            Membership.objects.create(
                mailing_list_id=list_id, client=client, status=Status.SUBSCRIBED, changed_at=now, source=source
            )
            joined.append((client.pk, client.email, list_id))
        elif membership.status != Status.SUBSCRIBED:
            membership.status, membership.changed_at, membership.source = Status.SUBSCRIBED, now, source
            membership.save(update_fields=["status", "changed_at", "source"])
            joined.append((client.pk, client.email, list_id))
    for list_id, membership in sorted(current.items()):
        # Only leaving "subscribed" is an unsubscription; an unconfirmed sign-up dropped here never was one.
        if list_id not in chosen_ids and membership.status != Status.UNSUBSCRIBED:
            if membership.status == Status.SUBSCRIBED:
                left.append((client.pk, client.email, list_id))
            membership.status, membership.changed_at, membership.source = Status.UNSUBSCRIBED, now, source
            membership.save(update_fields=["status", "changed_at", "source"])
    webhook_events.membership_changed(joined, subscribed=True, at=now)
    webhook_events.membership_changed(left, subscribed=False, at=now)


SUBSCRIBE_EMAILS_SQL = """
INSERT INTO audience_membership (mailing_list_id, client_id, status, changed_at, source)
SELECT %s, c.id, 'subscribed', %s, %s FROM audience_client c WHERE lower(c.email) = ANY(%s)
ON CONFLICT (mailing_list_id, client_id) DO NOTHING
"""
# The same statement telling who joined, for the webhook events (only run when an endpoint wants them).
SUBSCRIBE_EMAILS_RETURNING_SQL = f"""
WITH joined AS ({SUBSCRIBE_EMAILS_SQL.strip()} RETURNING client_id)
SELECT c.id, c.email FROM joined j JOIN audience_client c ON c.id = j.client_id ORDER BY c.id
"""  # noqa: S608 - a constant


def subscribe_emails(list_id: int, emails: list[str], source: str = Membership.Source.IMPORT) -> int:
    """Put the clients with these emails on a list (one statement); returns how many joined.

    A client already on the list keeps their state: an import never
    re-subscribes someone who left the list.
    """
    if not emails:
        return 0
    now = timezone.now()
    params = [list_id, now, source, [email.lower() for email in emails]]
    with connection.cursor() as cursor:
        if not webhook_events.membership_event_wanted(subscribed=True):
            cursor.execute(SUBSCRIBE_EMAILS_SQL, params)
            return cursor.rowcount
        cursor.execute(SUBSCRIBE_EMAILS_RETURNING_SQL, params)
        joined = [(pk, email, list_id) for pk, email in cursor.fetchall()]
    webhook_events.membership_changed(joined, subscribed=True, at=now)
    return len(joined)


def filter_by_list(clients: QuerySet, list_id: int | None) -> QuerySet:
    """Clients subscribed to the list (all clients when no list is given)."""
    if not list_id:
        return clients
    members = Membership.objects.filter(mailing_list_id=list_id, status=Status.SUBSCRIBED).values("client_id")
    return clients.filter(pk__in=members)


def mailing_lists_condition(mailing_id: int) -> tuple[str, dict]:
    """SQL condition on `c.id` (audience_client c) for a mailing sent to lists, and its parameters.

    For the delivery engine's INSERT … SELECT: a client counts once however
    many of the mailing's lists they are subscribed to. The list ids are read
    first and passed as an array, so the planner estimates the members from
    the membership statistics; it then scans the clients in order and
    probes a hash of the members, and deliveries are written in client order
    (joining the mailing's lists table inside made it guess a few thousand rows,
    pick a nested loop and write deliveries in random order: 50% slower at 1M).
    """
    from tenant_apps.campaigns.models import Mailing

    list_ids = list(
        Mailing.lists.through.objects.filter(mailing_id=mailing_id).values_list("mailinglist_id", flat=True)
    )
    sql = (
        "AND c.id IN (SELECT m.client_id FROM audience_membership m "
        "WHERE m.mailing_list_id = ANY(%(lists)s) AND m.status = 'subscribed')"
    )
    return sql, {"lists": list_ids}


@transaction.atomic
def set_list_membership(
    client: Client, mailing_list: MailingList, subscribed: bool, source: str = Membership.Source.MANUAL
) -> Membership:
    """Subscribe a client to one list, or mark them unsubscribed from it (the row stays for its history)."""
    status = Status.SUBSCRIBED if subscribed else Status.UNSUBSCRIBED
    now = timezone.now()
    membership, created = Membership.objects.select_for_update().get_or_create(
        mailing_list=mailing_list, client=client, defaults={"status": status, "changed_at": now, "source": source}
    )
    # An event when the client joins, or leaves while subscribed (not for a first "unsubscribed" row).
    was_subscribed = not created and membership.status == Status.SUBSCRIBED
    if not created and membership.status != status:
        membership.status, membership.changed_at, membership.source = status, now, source
        membership.save(update_fields=["status", "changed_at", "source"])
    if subscribed != was_subscribed:
        webhook_events.membership_changed([(client.pk, client.email, mailing_list.pk)], subscribed, at=now)
    return membership

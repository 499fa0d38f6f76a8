"""Messages, mailings and the dashboard (all run inside the workspace schema).

Scheduling and sending are the delivery engine's: every function here that
saves or deletes a mailing hands it over with one explicit call,
`delivery.services.mailing_changed` / `mailing_deleted`, in the same
transaction.
"""

from datetime import timedelta

from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, ProtectedError, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from saas.mail import queue_email
from tenant_apps.audience import lists
from tenant_apps.audience.models import Client
from tenant_apps.delivery import services as delivery
from tenant_apps.delivery.reports import delivery_totals
from tenants.services import site_url

from .models import Mailing, Message
from .rendering import render_for_client

CLIENT_SEARCH_PAGE_SIZE = 20
CLIENT_SEARCH_MAX_PAGE = 50
REPORT_DAYS = 30
# Tests go to the sender only, but each costs the provider a message.
TEST_SENDS_PER_WINDOW = 5
TEST_SEND_WINDOW_SECONDS = 600


class ActionRefused(Exception):
    """The workspace may not do this now; the message says why."""


# --- dashboard ---------------------------------------------------------------


def dashboard_counts():
    """The workspace's headline numbers."""
    mailings = Mailing.objects.user_made().aggregate(
        total=Count("id"),
        created=Count("id", filter=Q(status=Mailing.Status.CREATED)),
        running=Count("id", filter=Q(status=Mailing.Status.RUNNING)),
        completed=Count("id", filter=Q(status=Mailing.Status.COMPLETED)),
    )
    clients = Client.objects.aggregate(total=Count("id"), subscribed=Count("id", filter=Q(is_subscribed=True)))
    sent = delivery_totals(timezone.now() - timedelta(days=REPORT_DAYS))
    return {
        "mailings": mailings["total"],
        "messages": Message.objects.user_made().count(),
        "active_mailings": Mailing.objects.active().count(),
        "mailings_by_status": {key: mailings[key] for key in ("created", "running", "completed")},
        "clients": clients["total"],
        "subscribed_clients": clients["subscribed"],
        "sent": sent["sent"],
        "failed": sent["failed"],
        "bounced": sent["bounced"],
        "complained": sent["complained"],
        "report_days": REPORT_DAYS,
    }


# --- messages ----------------------------------------------------------------


def messages_with_usage():
    return Message.objects.user_made().annotate(mailing_count=Count("mailings")).order_by("-created", "-pk")


def delete_message(message):
    """Delete a message; refuse (naming the mailings) while a mailing uses it."""
    try:
        message.delete()
    except ProtectedError as error:
        names = ", ".join(sorted(str(mailing) for mailing in error.protected_objects))
        raise ActionRefused(
            _("This message is used by mailings (%(names)s): delete or change them first.") % {"names": names}
        ) from error


def sample_values(user, host):
    """Placeholder values for previews and tests: the person looking, and a sample link."""
    return {
        "name": user.full_name or user.email.split("@")[0],
        "email": user.email,
        # Not a real token: a test recipient is not a client and cannot unsubscribe.
        "unsubscribe_url": site_url(host, "/u/sample/"),
    }


def render_preview(message, user, host):
    """(subject, text, html) as `user` would receive the message."""
    return render_for_client(message.subject, message.body_text, message.body_html, **sample_values(user, host))


def take_test_send_slot(user):
    """Count a test send; False once `user` used up the window's allowance (fixed window, in the cache)."""
    key = f"campaigns:test-sends:{user.pk}"
    cache.add(key, 0, TEST_SEND_WINDOW_SECONDS)
    return cache.incr(key) <= TEST_SENDS_PER_WINDOW


def send_test_message(message, user, host):
    """Queue the message, rendered for `user`, to `user`'s own address (sent after commit)."""
    if not take_test_send_slot(user):
        raise ActionRefused(
            _("You have sent %(count)s tests in the last %(minutes)s minutes; please wait a little.")
            % {"count": TEST_SENDS_PER_WINDOW, "minutes": TEST_SEND_WINDOW_SECONDS // 60}
        )
    subject, text, html = render_preview(message, user, host)
    email = EmailMultiAlternatives(subject=_("[Test] %(subject)s") % {"subject": subject}, body=text, to=[user.email])
    if html:
        email.attach_alternative(html, "text/html")
    queue_email(email)


# --- mailings ----------------------------------------------------------------


# Set by the engine (status, and pauses with a reason), by managers
# (disabled_by_manager) and by the pause buttons (is_paused), never by the mailing form.
OWNED_ELSEWHERE = ("status", "is_paused", "disabled_by_manager", "pause_reason", "pause_detail")


def take_fields_owned_elsewhere(mailing):
    """Lock the mailing's row and copy in what the engine and managers own.

    The object in hand was read at the start of the request; meanwhile the
    engine may have moved the status or a manager disabled the mailing. A
    plain save() writes every column, so those values must be the current ones.
    """
    current = Mailing.objects.select_for_update().only(*OWNED_ELSEWHERE).get(pk=mailing.pk)
    for field in OWNED_ELSEWHERE:
        setattr(mailing, field, getattr(current, field))


def save_mailing(form):
    """Save a valid MailingForm; returns the mailing.

    The mailing and its recipients are saved in one transaction, so the
    engine (which acts on commit) sees both. A completed mailing whose end is
    moved into the future goes back to "created": the engine schedules it
    again and marks it running when it sends.
    """
    mailing = form.save(commit=False)
    with transaction.atomic():
        if mailing.pk:
            take_fields_owned_elsewhere(mailing)
        if mailing.status == Mailing.Status.COMPLETED and mailing.end_at > timezone.now():
            mailing.status = Mailing.Status.CREATED
        mailing.save()
        if mailing.audience == Mailing.Audience.SELECTED:
            mailing.clients.set(form.cleaned_data["clients"])
        else:
            mailing.clients.clear()
        mailing.lists.set(form.cleaned_data["lists"] if mailing.audience == Mailing.Audience.LISTS else [])
        delivery.mailing_changed(mailing)
    return mailing


@transaction.atomic
def pause_mailing(mailing):
    take_fields_owned_elsewhere(mailing)
    mailing.is_paused = True
    mailing.save()
    delivery.mailing_changed(mailing)


@transaction.atomic
def resume_mailing(mailing):
    """Resume a paused mailing, unless a manager has disabled it."""
    take_fields_owned_elsewhere(mailing)
    if mailing.disabled_by_manager:
        raise ActionRefused(_("A manager has disabled this mailing; it cannot be resumed."))
    mailing.is_paused = False
    mailing.pause_reason, mailing.pause_detail = Mailing.PauseReason.NONE, ""
    mailing.save()
    delivery.mailing_changed(mailing)


@transaction.atomic
def delete_mailing(mailing):
    mailing_id = mailing.pk
    mailing.delete()
    delivery.mailing_deleted(mailing_id)


def subscribed_client_count():
    return Client.objects.filter(is_subscribed=True).count()


def recipient_count(mailing):
    """How many clients the mailing would reach now (unsubscribed ones are skipped)."""
    if mailing.audience == Mailing.Audience.ALL:
        return subscribed_client_count()
    if mailing.audience == Mailing.Audience.LISTS:
        return lists.mailing_list_recipient_count(mailing)
    return mailing.clients.filter(is_subscribed=True).count()


def search_clients(query, page=1):
    """One page of clients matching `query` (email or name), for the recipient picker.

    Returns (clients, has_more). No COUNT: with 100k clients it would cost more
    than the page itself.
    """
    page = min(max(page, 1), CLIENT_SEARCH_MAX_PAGE)
    # Lower(email) is the unique index: the page is read in index order and the
    # scan stops as soon as it is full, instead of sorting every match.
    clients = Client.objects.order_by(Lower("email"))
    query = (query or "").strip()[:100]
    if query:
        clients = clients.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
    start = (page - 1) * CLIENT_SEARCH_PAGE_SIZE
    rows = list(clients[start : start + CLIENT_SEARCH_PAGE_SIZE + 1])
    return rows[:CLIENT_SEARCH_PAGE_SIZE], len(rows) > CLIENT_SEARCH_PAGE_SIZE and page < CLIENT_SEARCH_MAX_PAGE


def clients_by_ids(ids):
    return Client.objects.filter(pk__in=ids).order_by("email")

"""Sign-ups through a public form, double opt-in, consent evidence, and the subscriber's preference centre.

    form post  -> honeypot, Redis limits, validation (the view), accept(): the client limit, queued
    task       -> submit(): client (new ones unsubscribed until confirmed) + "unconfirmed" membership
               -> ConsentRecord (time, network, browser family, the exact consent text)
               -> at most one confirmation email per address per hour (delivery.transactional)
    link       -> confirm(): records confirmed, memberships "subscribed", welcome message

A list without double opt-in subscribes at the post. Everything runs in the
workspace's schema (the public views on its host).
"""

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from saas.mail import queue_email
from tenant_apps.webhooks import events as webhook_events
from tenants.services import site_url

from . import fields as custom_fields
from .models import Client, ConsentRecord, CustomField, MailingList, Membership, SubscriptionForm

Status = Membership.Status

CONFIRM_SALT = "rassylka.confirm-subscription"
CONFIRM_MAX_AGE = timedelta(days=7)
HONEYPOT = "website"  # the hidden field people leave empty
NAME_FIELD = "full_name"
MAX_EMAIL = 254
MAX_NAME = 200

ERROR_EMPTY_EMAIL = gettext_noop("Enter your email address.")
ERROR_EMAIL = gettext_noop("This is not a valid email address.")
ERROR_TOO_LONG = gettext_noop("This is too long (at most %(max)s characters).")
ERROR_NUL = gettext_noop("This contains a character that is not allowed.")


# --- limits (Redis) ----------------------------------------------------------------------


def _within(key: str, limit: int, window: int) -> bool:
    """Count one more hit on `key` in its fixed window; False when that passes `limit`."""
    if cache.add(key, 1, timeout=window):
        return True
    try:
        return cache.incr(key) <= limit
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=window)
        return True


def within_post_limits(form: SubscriptionForm, network: str) -> bool:
    """The per-network and per-form post limits (SUBSCRIPTION_FORM_LIMITS), counted in Redis."""
    limits = settings.SUBSCRIPTION_FORM_LIMITS
    schema = connection.schema_name
    per_ip = _within(f"forms:ip:{schema}:{network}", limits["per_ip"], limits["window"])
    return _within(f"forms:form:{schema}:{form.pk}", limits["per_form"], limits["window"]) and per_ip


def first_confirmation_this_hour(email: str) -> bool:
    """True once per address per hour in this workspace (SET NX EX: one winner among concurrent posts)."""
    return cache.add(f"forms:confirmation:{connection.schema_name}:{email.lower()}", 1, timeout=3600)


# --- the post ----------------------------------------------------------------------------


@dataclass
class SignUp:
    email: str = ""
    full_name: str = ""
    values: dict = field(default_factory=dict)  # custom field key -> cleaned value
    errors: dict = field(default_factory=dict)  # field name -> translated message


def shown_definitions(form: SubscriptionForm) -> list[CustomField]:
    keys = [key for key in form.shown_fields if key != NAME_FIELD]
    by_key = {definition.key: definition for definition in CustomField.objects.filter(key__in=keys)}
    return [by_key[key] for key in keys if key in by_key]


def clean_post(form: SubscriptionForm, data) -> SignUp:
    """The visitor's input, checked: empty, too long, invalid email, NUL bytes are refused with a message."""
    signup = SignUp()
    email = (data.get("email") or "").strip()
    if not email:
        signup.errors["email"] = _(ERROR_EMPTY_EMAIL)
    elif len(email) > MAX_EMAIL:
        signup.errors["email"] = _(ERROR_TOO_LONG) % {"max": MAX_EMAIL}
    elif "\x00" in email:
        signup.errors["email"] = _(ERROR_NUL)
    else:
        try:
            validate_email(email)
            signup.email = email
        except ValidationError:
            signup.errors["email"] = _(ERROR_EMAIL)
    if NAME_FIELD in form.shown_fields:
        name = (data.get(NAME_FIELD) or "").strip()
        if len(name) > MAX_NAME:
            signup.errors[NAME_FIELD] = _(ERROR_TOO_LONG) % {"max": MAX_NAME}
        elif "\x00" in name:
            signup.errors[NAME_FIELD] = _(ERROR_NUL)
        else:
            signup.full_name = name
    for definition in shown_definitions(form):
        raw = data.get(f"fields.{definition.key}", "")
        if len(raw) > 1000:
            signup.errors[definition.key] = _(ERROR_TOO_LONG) % {"max": 1000}
            continue
        try:
            value = custom_fields.clean_value(definition, raw)
        except custom_fields.InvalidValue as error:
            signup.errors[definition.key] = _(error.message) % error.params
            continue
        if value is not None:
            signup.values[definition.key] = value
    return signup


@dataclass
class Visitor:
    network: str  # the address cut to /24 or /48
    user_agent_family: str
    language: str


class Refused(Exception):
    """The sign-up cannot be taken now; str() is the message for the visitor."""


NO_ROOM = gettext_noop("This list cannot take new subscribers at the moment.")


def check_room(email: str) -> Client | None:
    """The existing client with this address (None: a new one); Refused when a new one would pass the limit.

    The clients are counted only when the workspace has a client limit, and
    only for an address not there yet (an existing client takes no room).
    """
    from tenant_apps.senders.quotas import client_limit, client_room, workspace_here

    workspace = workspace_here()
    if not client_limit(workspace):
        return None
    existing = Client.objects.by_email(email)
    if existing is None and client_room(workspace) == 0:
        raise Refused(_(NO_ROOM))
    return existing


INSERT_CLIENT_SQL = """
INSERT INTO audience_client (email, full_name, comment, is_subscribed, created, updated, fields)
VALUES (%(email)s, %(name)s, '', %(subscribed)s, %(now)s, %(now)s, %(fields)s::jsonb)
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING id
"""


def client_for_signup(signup: SignUp, *, subscribed: bool) -> tuple[Client, bool]:
    """(the client with this address, whether it is new). A new one gets the name and fields given (an
    existing one is not changed by a stranger's post); under double opt-in it stays unsubscribed until
    confirmed. Two posts of one new address at once make one row (ON CONFLICT)."""
    existing = check_room(signup.email)
    if existing is not None:
        return existing, False
    now = timezone.now()
    params = {
        "email": signup.email,
        "name": signup.full_name,
        "subscribed": subscribed,
        "now": now,
        "fields": json.dumps(signup.values),
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_CLIENT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return Client.objects.by_email(signup.email), False
    client = Client(
        pk=row[0],
        email=signup.email,
        full_name=signup.full_name,
        is_subscribed=subscribed,
        fields=signup.values,
        created=now,
        updated=now,
    )
    return client, True


def accept(form: SubscriptionForm, signup: SignUp, visitor: Visitor) -> str:
    """Queue a checked sign-up (tasks.record_signup runs submit) and return what the visitor is told.

    The post only checks and queues: a flood of posts costs the web
    workers little, and the database writes go at the workers' pace. The
    answer is the same whether the address was known or not. Refused (nothing
    queued) when the workspace is at its client limit and the address is new:
    the visitor is told so on the form instead of waiting for a mail.
    """
    from .tasks import record_signup

    check_room(signup.email)
    record_signup(connection.schema_name, form.pk, asdict(signup), asdict(visitor))
    return "confirm" if form.mailing_list.double_opt_in else "subscribed"


def submit(form: SubscriptionForm, signup: SignUp, visitor: Visitor) -> str:
    """Take a checked sign-up; returns "confirm" (a confirmation is due or was sent) or "subscribed".

    The answer does not tell whether the address was known already.
    """
    mailing_list = form.mailing_list
    now = timezone.now()
    with transaction.atomic():
        client, new = client_for_signup(signup, subscribed=not mailing_list.double_opt_in)
        membership = (
            None
            if new
            else Membership.objects.select_for_update().filter(mailing_list=mailing_list, client=client).first()
        )
        if membership is not None and membership.status == Status.SUBSCRIBED and client.is_subscribed:
            return "confirm" if mailing_list.double_opt_in else "subscribed"
        evidence = {
            "form": form,
            "network": visitor.network,
            "user_agent_family": visitor.user_agent_family,
            "consent_text": form.consent_text,
            "language": visitor.language,
        }
        if not mailing_list.double_opt_in:
            ConsentRecord.objects.create(
                client=client, mailing_list=mailing_list, requested_at=now, confirmed_at=now, **evidence
            )
            subscribe(client, mailing_list, now)
            send_welcome(client, form, key=f"welcome:{client.pk}:{mailing_list.pk}:{now.timestamp()}")
            return "subscribed"
        if membership is None:
            Membership.objects.create(
                mailing_list=mailing_list, client=client, status=Status.UNCONFIRMED, changed_at=now, source="form"
            )
        elif membership.status == Status.UNSUBSCRIBED:
            membership.status, membership.changed_at, membership.source = Status.UNCONFIRMED, now, "form"
            membership.save(update_fields=["status", "changed_at", "source"])
        # A sign-up still waiting keeps its first evidence (its link names that time).
        pending = ConsentRecord.objects.filter(
            client=client, mailing_list=mailing_list, confirmed_at__isnull=True, requested_at__gt=now - CONFIRM_MAX_AGE
        )
        if new or not pending.exists():
            ConsentRecord.objects.create(client=client, mailing_list=mailing_list, requested_at=now, **evidence)
        if first_confirmation_this_hour(client.email):
            send_confirmation(client, form, visitor.language)
    return "confirm"


def record_dropped_signup(form: SubscriptionForm) -> None:
    """A queued sign-up met a full workspace (room at the post, none when it ran): count it on the form
    for the owner to see, and email the owner about it at most once a day."""
    now = timezone.now()
    SubscriptionForm.objects.filter(pk=form.pk).update(dropped_signups=F("dropped_signups") + 1, last_dropped_at=now)
    notify_dropped_signups(form, now)


def notify_dropped_signups(form: SubscriptionForm, now) -> bool:
    """Email the workspace's owner that sign-ups are being dropped (once per workspace and UTC day)."""
    from tenant_apps.senders.quotas import client_limit, workspace_here

    workspace = workspace_here()
    owner = workspace.owner
    key = f"forms:dropped-mail:{workspace.pk}:{now:%Y-%m-%d}"
    if owner is None or not cache.add(key, 1, timeout=2 * 24 * 3600):
        return False
    dropped = SubscriptionForm.objects.filter(pk=form.pk).values_list("dropped_signups", flat=True).first() or 0
    with translation.override(getattr(owner, "language", None) or settings.LANGUAGE_CODE):
        values = {"workspace": workspace.name, "form": form.title, "limit": client_limit(workspace), "n": dropped}
        subject = _("Rassylka: sign-ups to %(workspace)s are being dropped") % values
        body = (
            _(
                "A sign-up through the form “%(form)s” could not be taken: the workspace %(workspace)s has reached "
                "its limit of %(limit)s clients. The visitor had already been thanked for signing up, but was not "
                "added. Sign-ups dropped through this form so far: %(n)s (shown on the form's page).\n\n"
                "New visitors are now told on the form that the list is full. Ask a manager to raise the limit, "
                "or delete clients you no longer need. You get at most one such email a day."
            )
            % values
        )
    queue_email(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email]))
    return True


def subscribe(client: Client, mailing_list: MailingList, now) -> None:
    """The client on the list, and subscribed to mail again if they had left everything."""
    before = (
        Membership.objects.select_for_update()
        .filter(mailing_list=mailing_list, client=client)
        .values_list("status", flat=True)
        .first()
    )
    Membership.objects.update_or_create(
        mailing_list=mailing_list,
        client=client,
        defaults={"status": Status.SUBSCRIBED, "changed_at": now, "source": "form"},
    )
    if before != Status.SUBSCRIBED:
        webhook_events.membership_changed([(client.pk, client.email, mailing_list.pk)], subscribed=True, at=now)
    Client.objects.filter(pk=client.pk, is_subscribed=False).update(
        is_subscribed=True, unsubscribed_at=None, updated=now
    )


# --- emails --------------------------------------------------------------------------------


def workspace_name() -> str:
    from tenant_apps.senders.quotas import workspace_here

    return workspace_here().name


def make_confirm_token(client: Client) -> str:
    return signing.dumps([connection.schema_name, client.pk, int(time.time())], salt=CONFIRM_SALT)


def confirm_url(client: Client) -> str:
    from tenant_apps.senders.quotas import workspace_here

    return site_url(workspace_here().host, f"/f/confirm/{make_confirm_token(client)}/")


def send_confirmation(client: Client, form: SubscriptionForm, language: str) -> None:
    from tenant_apps.delivery.transactional import Kind, send_transactional

    with translation.override(language or settings.LANGUAGE_CODE):
        values = {"workspace": workspace_name(), "list": form.mailing_list.name, "url": confirm_url(client)}
        subject = _("Confirm your subscription to %(workspace)s") % values
        body = _(
            "Hello!\n\nSomeone, probably you, asked to subscribe %(email)s to “%(list)s” of %(workspace)s.\n"
            "To confirm, open this link (it works for 7 days):\n\n%(url)s\n\n"
            "If it was not you, ignore this message: nothing will be sent to you."
        ) % {**values, "email": client.email}
    # No placeholders of our own: the values are already in the text, braces in them stay as written.
    send_transactional(email=client.email, subject=subject, body_text=body, client=client, kind=Kind.CONFIRMATION)


def send_welcome(client: Client, form: SubscriptionForm | None, *, key: str) -> None:
    message = form.welcome_message if form is not None else None
    if message is None:
        return
    from tenant_apps.delivery.transactional import Kind, send_transactional

    send_transactional(
        email=client.email,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        client=client,
        idempotency_key=key,
        kind=Kind.WELCOME,
    )


# --- the confirmation link ------------------------------------------------------------------


class ConfirmLinkError(Exception):
    """str() is the reason: "forged", "expired" or "unknown"."""


def client_for_confirm_token(token: str) -> tuple[Client, float]:
    """(client, when the link was made) for a valid link of this workspace."""
    try:
        schema_name, client_id, issued = signing.loads(
            token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE.total_seconds()
        )
    except signing.SignatureExpired as error:
        raise ConfirmLinkError("expired") from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ConfirmLinkError("forged") from error
    client = Client.objects.filter(pk=client_id).first() if schema_name == connection.schema_name else None
    if client is None:
        raise ConfirmLinkError("unknown")
    return client, issued


def pending_records(client: Client, issued: float):
    """The client's unconfirmed sign-ups made before the link (a later one has its own link)."""
    issued_at = datetime.fromtimestamp(issued + 1, tz=UTC)
    return ConsentRecord.objects.filter(
        client=client, confirmed_at__isnull=True, requested_at__lte=issued_at, mailing_list__isnull=False
    )


def confirm(client: Client, issued: float) -> list[MailingList]:
    """Confirm the sign-ups the link covers; returns their lists (empty: the link was used already)."""
    now = timezone.now()
    with transaction.atomic():
        records = list(
            pending_records(client, issued).select_for_update(of=("self",)).select_related("mailing_list", "form")
        )
        for record in records:
            record.confirmed_at = now
            record.save(update_fields=["confirmed_at"])
            subscribe(client, record.mailing_list, now)
            send_welcome(client, record.form, key=f"welcome:{record.pk}")
    return [record.mailing_list for record in records]


# --- the preference centre -------------------------------------------------------------------


def preference_lists(client: Client) -> list[tuple[MailingList, bool]]:
    """The workspace's public lists, each with whether the client receives it."""
    subscribed = set(
        client.memberships.filter(status=Status.SUBSCRIBED, mailing_list__is_public=True).values_list(
            "mailing_list_id", flat=True
        )
    )
    return [(item, item.pk in subscribed) for item in MailingList.objects.filter(is_public=True).order_by("name")]


def save_preferences(client: Client, chosen_ids: set[int], full_name: str) -> None:
    """The recipient's own choice among the public lists, and their name.

    Choosing any list means they want mail again (after "unsubscribe from
    everything"); lists that are not public are left as they are.
    """
    now = timezone.now()
    with transaction.atomic():
        public = {item.pk: item for item in MailingList.objects.filter(is_public=True)}
        current = {
            m.mailing_list_id: m for m in client.memberships.select_for_update().filter(mailing_list_id__in=public)
        }
        changed = {True: [], False: []}  # for the webhook events: subscribed → [(client, email, list)]
        for list_id in sorted(public):
            wanted = list_id in chosen_ids
            membership = current.get(list_id)
            status = Status.SUBSCRIBED if wanted else Status.UNSUBSCRIBED
            if membership is None:
                if wanted:
                    Membership.objects.create(
                        mailing_list_id=list_id, client=client, status=status, changed_at=now, source="preferences"
                    )
                    changed[True].append((client.pk, client.email, list_id))
            elif membership.status != status and (wanted or membership.status == Status.SUBSCRIBED):
                membership.status, membership.changed_at, membership.source = status, now, "preferences"
                membership.save(update_fields=["status", "changed_at", "source"])
                changed[wanted].append((client.pk, client.email, list_id))
        for subscribed, rows in changed.items():
            webhook_events.membership_changed(rows, subscribed=subscribed, at=now)
        changes = Q(pk=client.pk)
        Client.objects.filter(changes).update(full_name=full_name, updated=now)
        if chosen_ids & set(public):
            Client.objects.filter(changes, is_subscribed=False).update(
                is_subscribed=True, unsubscribed_at=None, updated=now
            )
    client.refresh_from_db()


# --- where the visitor goes back to -------------------------------------------------------------


def thank_you_redirect(form: SubscriptionForm) -> str | None:
    """The owner's thank-you URL when its host is one of the form's allowed sites (else None: our own page).

    Checked here too, not only when the form is saved, so a redirect never
    goes anywhere the owner did not list.
    """
    if not form.thank_you_url:
        return None
    host = (urlsplit(form.thank_you_url).hostname or "").lower()
    return form.thank_you_url if host in form.allowed_host_list else None


def form_snippet(form: SubscriptionForm, action_url: str) -> str:
    """The HTML to paste into a site: a plain form that posts to the hosted endpoint."""
    from django.template.loader import render_to_string

    return render_to_string(
        "tenant/forms/snippet.html",
        {"form": form, "action": action_url, "definitions": shown_definitions(form), "honeypot": HONEYPOT},
    ).strip()

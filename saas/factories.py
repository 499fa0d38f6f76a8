"""Test data in one place: every test builds users, clients, messages, mailings,
runs, deliveries, attempts and blog posts with these functions.

Workspace objects are made in the schema of the current connection (the
`in_workspace` fixture, or `schema_context`), or inside `workspace`'s schema
when one is given. The apps' fixtures (`make_mailing`, `make_client`, …) are
thin wrappers that only choose their defaults.
"""

import contextlib
import itertools
import uuid
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (test users only)
_numbers = itertools.count(1)


def unique_email(prefix: str = "client") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@contextlib.contextmanager
def _in(workspace):
    """Inside `workspace`'s schema, or where the connection already is."""
    if workspace is None:
        yield
    else:
        with schema_context(workspace.schema_name):
            yield


# --- people (public schema) ---------------------------------------------------------------


def make_user(email: str | None = None, password: str = PASSWORD, *, verified: bool = True, **fields):
    """A user who can sign in (email verified unless `verified=False`)."""
    from shared_apps.accounts.services import mark_email_verified

    user = get_user_model().objects.create_user(
        email=email or f"user{next(_numbers)}@example.com", password=password, **fields
    )
    if verified:
        mark_email_verified(user)
    return user


def make_member(workspace, role: str = "owner", **fields):
    """A user with `role` in `workspace` (owner, editor, viewer)."""
    from tenants.access import set_member_role

    user = make_user(**fields)
    set_member_role(user, workspace, role)
    return user


def make_manager(**fields):
    """A member of the Managers group (oversees every workspace)."""
    from tenants.access import ensure_managers_group

    user = make_user(**fields)
    user.groups.add(ensure_managers_group())
    return user


# --- workspace content -----------------------------------------------------------------


def make_client(email: str | None = None, *, workspace=None, subscribed: bool = True, **fields):
    from tenant_apps.audience.models import Client

    subscribed = fields.pop("is_subscribed", subscribed)
    if not subscribed:
        fields.setdefault("unsubscribed_at", timezone.now())
    with _in(workspace):
        client = Client.objects.create(email=email or unique_email(), is_subscribed=subscribed, **fields)
        index_clients_for_console([client])
    return client


def make_clients(*emails: str, workspace=None, **fields) -> list:
    """Several clients at once (one INSERT)."""
    from tenant_apps.audience.models import Client

    with _in(workspace):
        clients = Client.objects.bulk_create([Client(email=email, **fields) for email in emails])
        index_clients_for_console(clients)
    return clients


def index_clients_for_console(clients):
    """The console lists clients from its public index, which the audience services keep; rows made here are added."""
    from shared_apps.console import index

    index.clients_saved([index.client_row(client) for client in clients])


def make_message(
    subject: str = "Hello {{ name }}",
    body_text: str = "Dear {{ name }}, news. Leave: {{ unsubscribe_url }}",
    *,
    workspace=None,
    **fields,
):
    from tenant_apps.campaigns.models import Message

    with _in(workspace):
        return Message.objects.create(subject=subject, body_text=body_text, **fields)


def make_mailing(
    name: str | None = None,
    *,
    message=None,
    workspace=None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    status: str | None = None,
    hand_off: bool = False,
    **fields,
):
    """A mailing (with a new message unless one is given); by default it started a day ago and ends in 30 days.

    `hand_off=True` then calls `delivery.services.mailing_changed`, as every
    service saving a mailing does (schedule index, counters; a due mailing
    starts sending). `status` is the engine's to set, so it is written as
    the engine does (an UPDATE).
    """
    from tenant_apps.campaigns.models import Mailing

    now = timezone.now()
    with _in(workspace):
        mailing = Mailing.objects.create(
            name=name or f"Mailing {uuid.uuid4().hex[:8]}",
            message=message or make_message(),
            start_at=start_at or now - timedelta(days=1),
            end_at=end_at or now + timedelta(days=30),
            **fields,
        )
        if hand_off:
            from tenant_apps.delivery import services as delivery

            delivery.mailing_changed(mailing)
        if status:
            set_status(mailing, status)
        index_mailing_for_console(mailing)
    return mailing


def index_mailing_for_console(mailing):
    """The console lists mailings from its public index, which the delivery services keep; as they would."""
    from shared_apps.console import index

    index.mailings_changed([mailing.pk])


def set_status(mailing, status: str) -> None:
    """Give `mailing` the status the engine would (an UPDATE, no hand-off)."""
    from tenant_apps.campaigns.models import Mailing

    Mailing.objects.filter(pk=mailing.pk).update(status=status)
    mailing.status = status
    index_mailing_for_console(mailing)


def make_run(mailing, scheduled_for: datetime | None = None, **fields):
    from tenant_apps.delivery.models import Run

    scheduled_for = scheduled_for or timezone.now()
    return Run.objects.create(
        mailing=mailing, scheduled_for=scheduled_for, deadline=scheduled_for + timedelta(days=1), **fields
    )


def make_delivery(run, status: str = "pending", client=None, finished_at: datetime | None = None):
    from tenant_apps.delivery.models import Delivery

    client = client or make_client()
    if finished_at is None and status in (Delivery.Status.SENT, Delivery.Status.FAILED):
        finished_at = timezone.now()
    delivery = Delivery.objects.create(
        run=run, client=client, email=client.email, status=status, finished_at=finished_at
    )
    recount_delivery_counters(run.mailing_id)
    return delivery


def recount_delivery_counters(mailing_id):
    """The reports read counters the engine keeps; rows made here directly are counted by the repair."""
    from tenant_apps.delivery.counters import recount_mailing

    recount_mailing(mailing_id)


def make_attempt(
    delivery, at: datetime | None = None, status: str = "success", smtp_code: int | None = None, response=""
):
    from tenant_apps.delivery.models import Attempt

    if smtp_code is None:
        smtp_code = 250 if status == Attempt.Status.SUCCESS else 550
    attempt = Attempt.objects.create(
        delivery=delivery,
        at=at or timezone.now(),
        status=status,
        smtp_code=smtp_code,
        response=response or ("2.0.0 Ok: queued" if status == Attempt.Status.SUCCESS else "5.1.1 User unknown"),
        permanent=status == Attempt.Status.FAILURE and smtp_code >= 500,
    )
    recount_delivery_counters(delivery.run.mailing_id)
    return attempt


# --- blog (public schema) -------------------------------------------------------------


def make_post(title: str | None = None, status: str = "published", published_at: datetime | None = None, **fields):
    from shared_apps.blog.models import Post

    number = next(_numbers)
    return Post.objects.create(
        title=title or f"Post {number}",
        body=fields.pop("body", "Some **text** for the post."),
        status=status,
        published_at=published_at or timezone.now() - timedelta(hours=1),
        **fields,
    )

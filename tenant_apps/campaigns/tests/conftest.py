import socket
from datetime import UTC, datetime

import pytest
from django_tenants.utils import schema_context

from saas import factories

FUTURE_START = datetime(2030, 1, 10, 6, 0, tzinfo=UTC)
FUTURE_END = datetime(2030, 1, 20, 6, 0, tzinfo=UTC)


@pytest.fixture
def editor(workspace, member_factory):
    return member_factory(workspace, "editor", full_name="Ann Editor")


@pytest.fixture
def editor_client(workspace_client, editor, in_workspace):
    """Signed in on acme.localhost as an editor; the test's ORM runs in acme's schema."""
    workspace_client.force_login(editor)
    return workspace_client


@pytest.fixture
def make_client():
    """saas.factories.make_client, in the current schema."""
    return factories.make_client


@pytest.fixture
def make_message():
    return factories.make_message


@pytest.fixture
def make_mailing():
    """A mailing named "Autumn sale" in January 2030 (in the future: nothing is sent)."""

    def make(message=None, status=None, **extra):
        fields = {"name": "Autumn sale", "start_at": FUTURE_START, "end_at": FUTURE_END} | extra
        return factories.make_mailing(message=message, status=status, **fields)

    return make


@pytest.fixture
def only_unsubscribed_clients(in_workspace):
    """Clients committed by other tests' journeys must not count as recipients here (rolled back)."""
    from tenant_apps.audience.models import Client

    Client.objects.update(is_subscribed=False)


def high_id(model):
    """An id free in both test workspaces, so an object made in one is surely absent from the other."""
    ids = []
    for schema in ("ws_acme", "ws_globex"):
        with schema_context(schema):
            ids.append(model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    return max(ids) + 1000


@pytest.fixture
def globex_objects(other_workspace):
    """A message, a mailing and a client in the other workspace (globex), with ids unused in acme."""
    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message

    message_id, mailing_id, client_id = high_id(Message), high_id(Mailing), high_id(Client)
    with schema_context(other_workspace.schema_name):
        client = Client.objects.create(id=client_id, email="globex-only@example.com", full_name="Globex Person")
        message = Message.objects.create(id=message_id, subject="Globex secret", body_text="x")
        mailing = Mailing.objects.create(
            id=mailing_id, name="Globex plan", message=message, start_at=FUTURE_START, end_at=FUTURE_END
        )
        mailing.clients.add(client)
    return {"message": message, "mailing": mailing, "client": client}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the in-process SMTP server received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server (aiosmtpd) on a free TCP port, with Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()

"""Fixtures for deliverability feedback: sent deliveries, the bounce receiver over TCP, the real queue."""

import datetime as dt
import smtplib
import socket
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

MESSAGES = Path(__file__).parent / "messages"


def free_port():
    for port in range(2700, 2800):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 2700-2799")


def sample(name, *, return_path, recipient):
    """A stored bounce or complaint with the VERP address and recipient filled in (CRLF line ends)."""
    text = (MESSAGES / name).read_text()
    text = text.replace("{RETURN_PATH}", return_path).replace("{RECIPIENT}", recipient)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


@pytest.fixture
def sent_run():
    """make(n, workspace=None): a run with n deliveries already sent (in the workspace's schema)."""
    from saas.factories import recount_delivery_counters
    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message
    from tenant_apps.delivery.models import Delivery, Run

    counter = {"n": 0}

    def make(n=3, workspace=None, prefix="r"):
        if workspace is not None:
            connection.set_tenant(workspace)
        counter["n"] += 1
        tag = f"{prefix}{counter['n']}"
        now = timezone.now()
        clients = Client.objects.bulk_create(
            Client(email=f"{tag}-{i}@mail.example", full_name=f"Client {i}") for i in range(n)
        )
        message = Message.objects.create(subject="News", body_text="Hello")
        mailing = Mailing.objects.create(
            name=f"Mailing {tag}",
            message=message,
            start_at=now - dt.timedelta(hours=2),
            end_at=now - dt.timedelta(hours=1),
        )
        run = Run.objects.create(
            mailing=mailing, scheduled_for=now - dt.timedelta(hours=2), deadline=now, status=Run.Status.DONE
        )
        deliveries = Delivery.objects.bulk_create(
            Delivery(run=run, client=c, email=c.email, status=Delivery.Status.SENT, finished_at=now) for c in clients
        )
        recount_delivery_counters(mailing.pk)  # made here, not by the engine
        return run, deliveries

    return make


@pytest.fixture
def real_queue():
    """Tasks go to the real Redis queue instead of running at once; .drain() runs them in this thread."""
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    HUEY.immediate = False

    class Queue:
        def __len__(self):
            return HUEY.pending_count()

        def drain(self):
            # Executed in immediate mode: djhuey then keeps the test's connection (and its transaction).
            tasks = []
            while HUEY.pending_count():  # dequeue() on an empty Redis queue blocks for a second
                tasks.append(HUEY.dequeue())
            HUEY.immediate = True
            try:
                return [HUEY.execute(task) for task in tasks]
            finally:
                HUEY.immediate = False

    yield Queue()
    HUEY.immediate = True
    HUEY.flush()


@pytest.fixture
def bounce_server(settings, real_queue):
    """The bounce receiver on a free port (a thread of this process, real SMTP over TCP)."""
    from tenant_apps.feedback import receiver

    settings.BOUNCE_DOMAIN = "bounces.rassylka.test"
    controller = receiver.start("127.0.0.1", free_port(), max_bytes=200_000)
    controller.queue = real_queue
    yield controller
    controller.stop()


def send_to(server, rcpt, raw, mail_from=""):
    with smtplib.SMTP(server.hostname, server.port, local_hostname="localhost", timeout=5) as smtp:
        smtp.sendmail(mail_from, [rcpt], raw)


# The engine's fixtures (settings pointing at a test server, mailing factory).
from tenant_apps.delivery.tests.conftest import (  # noqa: E402,F401
    _fresh_worker_connection,
    engine_settings,
    make_mailing,
)


class EnvelopeRecorder:
    """aiosmtpd handler keeping (envelope sender, recipient, message bytes) of every message."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.envelopes.append((envelope.mail_from, rcpt, envelope.content))
        return "250 2.0.0 Ok: queued"

    @property
    def recipients(self):
        return [rcpt for _sender, rcpt, _content in self.envelopes]


@pytest.fixture
def provider():
    """A provider (aiosmtpd over TCP) that records envelope senders too."""
    from aiosmtpd.controller import Controller

    recorder = EnvelopeRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()

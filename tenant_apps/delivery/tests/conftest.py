"""Real SMTP servers for the engine's tests, and mailing factories.

`smtp_sink(*options)` starts Postfix's smtp-sink on a free port (fault
recipes in DESIGN.md §6); `smtp_server` is an aiosmtpd server in this process
that keeps every message so a test can read them. Both are real SMTP over TCP.
"""

import datetime as dt
import email
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
PORTS = range(2600, 2700)


def free_port():
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 2600-2699")


def wait_for_port(port, up=True, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if (sock.connect_ex(("127.0.0.1", port)) == 0) == up:
                return
        time.sleep(0.02)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'}")


class Sink:
    """A running smtp-sink process."""

    def __init__(self, port, *options):
        self.port = port
        user = ["-u", "postfix"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [SMTP_SINK, *user, *options, "-c", f"127.0.0.1:{port}", "100"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(5)
            wait_for_port(self.port, up=False)


@pytest.fixture
def smtp_sink():
    """Start smtp-sink with options on a free port (or `port=` a given one); stopped after the test."""
    sinks = []

    def start(*options, port=None):
        sink = Sink(port or free_port(), *options)
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:  # stop every one, even if stopping another failed
        if sink.process.poll() is None:
            sink.process.kill()
            sink.process.wait(5)


class Recorder:
    """aiosmtpd handler that keeps every accepted message; can drop or refuse on cue."""

    def __init__(self):
        self.messages = []  # (recipient, email.message.EmailMessage, session id)
        self.lock = threading.Lock()
        self.delay = 0.0
        self.refuse = {}  # recipient -> SMTP reply to give at DATA
        self.drop = set()  # recipients whose DATA makes the server hang up

    async def handle_DATA(self, server, session, envelope):
        recipient = envelope.rcpt_tos[0]
        if recipient in self.drop:
            self.drop.discard(recipient)
            server.transport.close()
            return "421 closing"
        if recipient in self.refuse:
            return self.refuse[recipient]
        if self.delay:
            time.sleep(self.delay)  # a slow provider; blocks this server's loop like a real one would
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, parsed, id(session)))
        return "250 2.0.0 Ok: queued"

    @property
    def recipients(self):
        with self.lock:
            return [rcpt for rcpt, _message, _session in self.messages]

    @property
    def sessions(self):
        with self.lock:
            return {session for _rcpt, _message, session in self.messages}


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_worker_connection():
    """Each test starts without the previous test's SMTP connection (servers come and go)."""
    from tenant_apps.delivery import engine

    yield
    sender = getattr(engine._local, "sender", None)
    if sender is not None:
        sender.close()
        engine._local.sender = None
    for provider_sender in engine._local.__dict__.pop("providers", {}).values():
        provider_sender.close()
    engine._local.__dict__.pop("contexts", None)


@pytest.fixture
def engine_settings(settings):
    """Fast engine settings; call with a port to point the provider at a test server."""
    settings.DELIVERY_SMTP_TIMEOUT = 1.0
    settings.DELIVERY_BATCH_SIZE = 7
    settings.DELIVERY_RETRY_BASE = 60.0
    settings.DELIVERY_RETRY_JITTER = 0.2
    settings.DELIVERY_MAX_ATTEMPTS = 5
    settings.DELIVERY_BREAKER_THRESHOLD = 3
    settings.DELIVERY_BREAKER_COOLDOWN = 30.0
    settings.DELIVERY_WORKERS_PER_RUN = 1
    settings.DELIVERY_FROM_EMAIL = "Рассылка Acme <news@acme.example>"

    def point_at(port):
        settings.DELIVERY_EMAIL = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": port}
        return settings

    return point_at


@pytest.fixture
def make_mailing(in_workspace):
    """A mailing (in acme's schema) to `clients` new subscribed clients; window now-1m … now+1d by default."""
    from django.utils import timezone

    from saas import factories

    counter = {"n": 0}

    def make(clients=5, *, unsubscribed=0, start=None, end=None, periodicity="once", **extra):
        counter["n"] += 1
        n = counter["n"]
        now = timezone.now()
        subscribed = [factories.make_client(f"c{n}-{i}@example.com", full_name=f"Клиент {i}") for i in range(clients)]
        factories.make_clients(
            *(f"gone{n}-{i}@example.com" for i in range(unsubscribed)), is_subscribed=False, unsubscribed_at=now
        )
        message = factories.make_message(
            "Привет, {{ name }}",
            "Здравствуйте, {{ name }}! Отписаться: {{ unsubscribe_url }}",
            body_html="<p>Здравствуйте, {{ name }}!</p>",
        )
        mailing = factories.make_mailing(
            f"Mailing {n}",
            message=message,
            start_at=start or now - dt.timedelta(minutes=1),
            end_at=end or now + dt.timedelta(days=1),
            periodicity=periodicity,
            hand_off=True,  # what every service saving a mailing does
            **extra,
        )
        mailing.subscribed_clients = subscribed
        return mailing

    return make

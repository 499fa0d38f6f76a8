"""Deliverability feedback under load: bounces through bounce_server, webhook events through the endpoint.

    DEBUG=1 .venv/bin/python bench/feedback.py [N=20000] [--connections 4] [--batch 100]

Needs DATABASE_URL (migrated) and HUEY_REDIS_URL (a Redis queue of its own:
the bench flushes it). Creates a workspace bench-fb-<random> with a run of
N sent deliveries (SQL) and measures, printing one line each:

1. DSNs into the queue: N RFC 3464 bounces (real VERP tokens), sent over
   --connections SMTP sessions to `manage.py bounce_server` (its own
   process), timed until the last one is accepted (a 250 comes only once
   the message is in the queue; messages arriving together share a task);
2. DSNs recorded: a `run_huey` consumer (its own process, the settings'
   workers) works the queue; timed until N events are in the schema; its
   peak memory (VmHWM);
3. webhook events into the queue: N SendGrid events, signed (ECDSA), posted
   --batch per request through the whole Django stack (test client);
4. webhook events recorded by a fresh consumer, and its peak memory.
Recording rates are given from the consumer's start and "once running"
(from its first recorded event: without its ~2 s of start-up).
The workspace is dropped at the end.
"""

import argparse
import base64
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from huey.contrib.djhuey import HUEY  # noqa: E402

from shared_apps.deliverability.services import feedback_of  # noqa: E402
from tenant_apps.campaigns.models import Mailing, Message  # noqa: E402
from tenant_apps.delivery.models import Run  # noqa: E402
from tenant_apps.feedback.models import FeedbackEvent  # noqa: E402
from tenant_apps.feedback.reports_builder import make_dsn  # noqa: E402
from tenant_apps.feedback.verp import ReturnPaths  # noqa: E402
from tenants.services import create_workspace  # noqa: E402


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(condition, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(step)


def make_run(n, prefix):
    """A done run with n sent deliveries to n new clients; returns [(delivery id, email)]."""
    now = timezone.now()
    message = Message.objects.create(subject="Bench", body_text="Hello")
    mailing = Mailing.objects.create(
        name=f"bench {prefix}",
        message=message,
        start_at=now - timezone.timedelta(days=2),
        end_at=now - timezone.timedelta(days=1),
    )
    run = Run.objects.create(mailing=mailing, scheduled_for=now, deadline=now, status="done")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audience_client (email, full_name, comment, is_subscribed, created, updated)
            SELECT %s || g || '@bench.example', '', '', true, now(), now() FROM generate_series(1, %s) g
            """,
            [prefix, n],
        )
        cursor.execute(
            """
            INSERT INTO delivery_delivery
                (run_id, client_id, email, status, attempt_count, claimed_by, last_response, finished_at)
            SELECT %s, c.id, c.email, 'sent', 1, '', '', now() FROM audience_client c
            WHERE c.email LIKE %s
            RETURNING id, email
            """,
            [run.pk, f"{prefix}%@bench.example"],
        )
        return cursor.fetchall()


def child_env(**extra):
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "saas.settings", "DEBUG": "1", "HUEY_IMMEDIATE": "0", **extra}


def send_dsns(port, messages, connections):
    chunks = [messages[i::connections] for i in range(connections)]

    def send(chunk):
        with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=30) as smtp:
            for rcpt, raw in chunk:
                smtp.sendmail("", [rcpt], raw)

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def consume(schema, expected, timeout):
    """Start run_huey, time it until `expected` events are recorded; (seconds, peak memory MB)."""
    consumer = subprocess.Popen(
        # A consumer keeps its database connection between tasks (DB_CONN_MAX_AGE), as deploy/ advises.
        [sys.executable, "manage.py", "run_huey", "--no-periodic"], cwd=ROOT, env=child_env(DB_CONN_MAX_AGE="600"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    started = time.monotonic()
    first = {}

    def recorded():
        with schema_context(schema):
            count = FeedbackEvent.objects.count()
        if count > baseline and not first:  # the consumer is up: time from here too, without its start-up
            first.update(at=time.monotonic(), count=count)
        return count >= expected

    with schema_context(schema):
        baseline = FeedbackEvent.objects.count()
    try:
        wait(recorded, timeout, step=0.1)
        elapsed = time.monotonic() - started
        running = (expected - first["count"]) / max(time.monotonic() - first["at"], 1e-6)
        status = Path(f"/proc/{consumer.pid}/status").read_text()
        peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024
        # user + system CPU seconds of the consumer (start-up included): steadier than wall time on a shared machine
        fields = Path(f"/proc/{consumer.pid}/stat").read_text().rpartition(")")[2].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    finally:
        consumer.send_signal(signal.SIGINT)
        consumer.wait(30)
    return elapsed, peak, cpu, running


def bench_dsns(workspace, n, connections):
    with schema_context(workspace.schema_name):
        deliveries = make_run(n, "d")
    paths = ReturnPaths(workspace.pk)
    messages = [(paths.address(pk), make_dsn(paths.address(pk), email)) for pk, email in deliveries]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "bounce_server", "--port", str(port)], cwd=ROOT, env=child_env(),
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 30)
        started = time.monotonic()
        send_dsns(port, messages, connections)  # each 250 comes once the message is in the queue
        queued = time.monotonic() - started
        tasks = HUEY.pending_count()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    print(
        f"DSNs into the queue:     {n / queued:8.0f} /s  ({n} in {queued:.1f} s, {connections} SMTP sessions, "
        f"{tasks} tasks)"
    )
    recorded, peak, cpu, running = consume(workspace.schema_name, n, 900)
    print(
        f"DSNs recorded:           {n / recorded:8.0f} /s  ({n} in {recorded:.1f} s; {running:.0f} /s once running), "
        f"consumer CPU {1000 * cpu / n:.2f} ms/event, peak {peak:.0f} MB"
    )


def bench_webhooks(workspace, n, batch):
    with schema_context(workspace.schema_name):
        deliveries = make_run(n, "w")
    key = ec.generate_private_key(ec.SECP256R1())
    hooks = feedback_of(workspace)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    hooks.sendgrid_public_key = base64.b64encode(der).decode()
    hooks.save()
    bodies = []
    for start in range(0, n, batch):
        events = [
            {"email": email, "event": "bounce", "type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 unknown",
             "timestamp": int(time.time()), "sg_event_id": f"bench-{pk}"}
            for pk, email in deliveries[start : start + batch]
        ]  # fmt: skip
        body = json.dumps(events).encode()
        signature = base64.b64encode(key.sign(b"1764500000" + body, ec.ECDSA(hashes.SHA256()))).decode()
        bodies.append((body, signature))
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    url = f"/hooks/sendgrid/{hooks.hook_token}/"
    started = time.monotonic()
    for body, signature in bodies:
        response = client.post(
            url,
            body,
            content_type="application/json",
            HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
            HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP="1764500000",
        )
        assert response.status_code == 200, response.content
    posted = time.monotonic() - started
    print(f"webhook events queued:   {n / posted:8.0f} /s  ({len(bodies)} signed requests of {batch} events)")
    with schema_context(workspace.schema_name):
        before = FeedbackEvent.objects.count()
    recorded, peak, cpu, running = consume(workspace.schema_name, before + n, 900)
    print(
        f"webhook events recorded: {n / recorded:8.0f} /s  ({n} in {recorded:.1f} s; {running:.0f} /s once running), "
        f"consumer CPU {1000 * cpu / n:.2f} ms/event, peak {peak:.0f} MB"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--skip-dsns", action="store_true", help="only the webhook part")
    args = parser.parse_args()
    if not settings.HUEY_REDIS_URL:
        raise SystemExit("Set HUEY_REDIS_URL: the bench measures the real Redis queue.")
    HUEY.immediate = False
    HUEY.flush()
    slug = f"bench-fb-{uuid.uuid4().hex[:6]}"
    workspace = create_workspace(name=slug, slug=slug)
    print(f"N = {args.n}, workspace {slug}, load average {os.getloadavg()[0]:.1f}")
    started = time.monotonic()
    try:
        if not args.skip_dsns:
            bench_dsns(workspace, args.n, args.connections)
        bench_webhooks(workspace, args.n, args.batch)
        print(f"load average at the end {os.getloadavg()[0]:.1f}, {time.monotonic() - started:.0f} s in all")
    finally:
        HUEY.flush()
        connection.set_schema_to_public()
        workspace.delete(force_drop=True)


if __name__ == "__main__":
    main()

"""DKIM-signed sending against unsigned sending and against the bare signing ceiling, in one run.

    .venv/bin/python bench/dkim_sending.py [N=6000] [--workers W=2] [--repeat 2]

Uses DATABASE_URL / REDIS_URL like the project. Starts smtp-sink on a free
port, creates a fresh workspace with N clients, a sending domain whose DKIM
key is active (no DNS needed to sign), and three measurements, each with W
processes, interleaved `--repeat` times (best kept, the machine is shared):

- signed: the engine sending one mailing From the domain: every message
  DKIM-signed (rsa-sha256, relaxed/relaxed, RSA through OpenSSL);
- unsigned: the same engine and clients, From the platform's address;
- ceiling: `cryptography` alone making N RSA-2048 PKCS#1 v1.5 SHA-256
  signatures of pre-built messages' header hashes in W processes (no SMTP,
  no database): the most signed sending could reach on these cores.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

from bench.send_mailing import (  # noqa: E402
    BODY,
    collect,
    cpu_seconds,
    free_port,
    peak_rss_mb,
    setup_django,
    start_sink,
)

DOMAIN = "bench-signed.example"


def spawn(args, env=None):
    import subprocess

    return subprocess.Popen(
        [sys.executable, __file__, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )


def engine_worker(schema_name, run_id):
    setup_django()
    from django_tenants.utils import schema_context

    from tenant_apps.delivery import engine
    from tenant_apps.delivery.models import Run
    from tenant_apps.delivery.scheduling import current_workspace

    with schema_context(schema_name):
        run = Run.objects.select_related("mailing__message").get(pk=run_id)
        workspace = current_workspace()
        started, cpu = time.time(), cpu_seconds()
        summary = engine.Summary()
        while True:
            progress = engine.process_run(run, workspace)
            summary.add(progress.summary)
            if progress.state != "budget":
                break
        finished, cpu = time.time(), cpu_seconds() - cpu
    print(json.dumps({"start": started, "end": finished, "sent": summary.sent, "rss": peak_rss_mb(), "cpu": cpu}))


def ceiling_worker(count):
    """Bare OpenSSL RSA signatures over distinct data, as many as this process's share."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = [f"from:news@{DOMAIN}\r\nto:c{i}@example.com\r\nsubject:hello {i}\r\n".encode() for i in range(count)]
    pad, hsh = padding.PKCS1v15(), hashes.SHA256()
    started, cpu = time.time(), cpu_seconds()
    for item in data:
        key.sign(item, pad, hsh)
    finished, cpu = time.time(), cpu_seconds() - cpu
    print(json.dumps({"start": started, "end": finished, "sent": count, "rss": peak_rss_mb(), "cpu": cpu}))


def summarise(name, results, unit="msg/s"):
    sent = sum(r["sent"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    cpu = 1e6 * sum(r["cpu"] for r in results) / sent
    print(f"{name:<10} {sent:>7} in {seconds:6.2f} s = {sent / seconds:7.0f} {unit}, CPU {cpu:5.0f} µs each")
    return sent / seconds


def prepare(count):
    """A fresh workspace, N clients, an active DKIM key for DOMAIN; returns (workspace, message)."""
    import uuid

    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Message
    from tenant_apps.senders import services as senders
    from tenant_apps.senders.models import DkimKey, SendingDomain
    from tenants.services import create_workspace

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    workspace = create_workspace(name=slug, slug=slug)
    with schema_context(workspace.schema_name):
        for first in range(0, count, 10_000):
            Client.objects.bulk_create(
                Client(email=f"c{i}@example.com", full_name=f"Клиент {i}")
                for i in range(first, min(first + 10_000, count))
            )
        domain = senders.add_domain(DOMAIN)
        DkimKey.objects.filter(domain=domain).update(state=DkimKey.State.ACTIVE)  # as if found in DNS
        SendingDomain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
        message = Message.objects.create(subject="Привет, {{ name }}", body_text=BODY)
    return workspace, message


def run_engine(workspace, message, from_email, workers, port, label):
    import datetime as dt

    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenant_apps.campaigns.models import Mailing
    from tenant_apps.delivery import services

    with schema_context(workspace.schema_name):
        now = timezone.now()
        (mailing,) = Mailing.objects.bulk_create(
            [
                Mailing(
                    name=label, message=message, start_at=now, end_at=now + dt.timedelta(days=1), from_email=from_email
                )
            ]
        )
        (run,) = services.prepare_due_runs(mailing, workspace=workspace)
    env = {"DELIVERY_EMAIL_URL": f"smtp://127.0.0.1:{port}"}
    results = collect([spawn(["--engine-worker", workspace.schema_name, run.pk], env) for _ in range(workers)])
    return summarise(label, results)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int, nargs="?", default=6000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--engine-worker", nargs=2)
    parser.add_argument("--ceiling-worker", type=int)
    args = parser.parse_args()
    if args.engine_worker:
        return engine_worker(args.engine_worker[0], int(args.engine_worker[1]))
    if args.ceiling_worker:
        return ceiling_worker(args.ceiling_worker)

    setup_django()
    n, workers = args.count, args.workers
    port = free_port()
    sink = start_sink(port)
    share = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    print(f"{n} messages of ~1 KB to smtp-sink, {workers} processes each, best of {args.repeat}")
    workspace, message = prepare(n)
    signed, unsigned, ceiling = [], [], []
    try:
        for _ in range(args.repeat):
            signed.append(run_engine(workspace, message, f"News <news@{DOMAIN}>", workers, port, "signed"))
            unsigned.append(run_engine(workspace, message, "", workers, port, "unsigned"))
            ceiling.append(summarise("ceiling", collect([spawn(["--ceiling-worker", p]) for p in share]), "sig/s"))
    finally:
        sink.terminate()
        sink.wait()
        workspace.delete(force_drop=True)
    print()
    print(f"best: signed {max(signed):.0f} msg/s, unsigned {max(unsigned):.0f} msg/s, ceiling {max(ceiling):.0f} sig/s")
    print(f"signed / signing ceiling: {max(signed) / max(ceiling):.2f} (target ≥ 0.7)")
    print(f"signed / unsigned:        {max(signed) / max(unsigned):.2f}")


if __name__ == "__main__":
    main()

"""Outgoing webhooks: events recorded and delivered per second to a local HTTPS receiver.

    DEBUG=1 .venv/bin/python bench/webhooks_out.py [--events 50000] [--chunk 500] [--batch 100] [--repeat 3]

Uses DATABASE_URL (default .../rassylka_bench_webhooks; created and migrated
on the first run) and its workspace `bench-hooks`. The receiver
(tenant_apps/webhooks/local_receiver.py, self-signed certificate trusted
through WEBHOOKS_CA_BUNDLE: TLS verified) runs in its own process, so it does
not share this one's GIL; it parses every body and counts distinct event ids.

Per round: `--events` events are emitted in chunks of `--chunk` (one emit
call per chunk, each its own transaction, as the engine's batch writes do),
then one sender delivers them all (`send_endpoint`, messages of `--batch`
events, signed, over one kept-alive connection). Printed: emission rate,
delivery rate (events/s and requests/s), and that every event arrived once.
"""

import argparse
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, free_port  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka_bench_webhooks")
SLUG = "bench-hooks"


def setup():
    import django

    django.setup()
    from django.core.management import call_command

    from tenants.models import Workspace
    from tenants.services import create_workspace

    call_command("migrate", verbosity=0)
    return Workspace.objects.filter(slug=SLUG).first() or create_workspace(name=SLUG, slug=SLUG)


def start_receiver(folder, port):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenant_apps.webhooks.local_receiver",
            "--port",
            str(port),
            "--folder",
            folder,
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()  # "listening on …": the certificate is written and the socket is open
    return process


def receiver_stats(port, cert):
    context = ssl.create_default_context(cafile=cert)
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/stats", context=context, timeout=5) as response:  # noqa: S310
        return json.load(response)


def one_round(endpoint, args):
    from django.db import transaction

    from tenant_apps.webhooks import events
    from tenant_apps.webhooks.sender import send_endpoint

    started = time.perf_counter()
    for start in range(0, args.events, args.chunk):
        rows = [
            {"delivery_id": i, "run_id": 1, "mailing_id": 1, "client_id": i, "email": f"c{i}@example.com"}
            for i in range(start, min(start + args.chunk, args.events))
        ]
        with transaction.atomic():
            events.emit("delivery.sent", rows)
    emitted = time.perf_counter() - started
    started = time.perf_counter()
    outcome = send_endpoint(endpoint.pk, budget_seconds=3600)
    sent = time.perf_counter() - started
    return emitted, sent, outcome


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    workspace = setup()
    from django.conf import settings
    from django_tenants.utils import schema_context

    from tenant_apps.webhooks.models import Endpoint
    from tenant_apps.webhooks.services import create_endpoint

    folder = tempfile.mkdtemp(prefix="webhooks-bench-")
    port = free_port()
    receiver = start_receiver(folder, port)
    cert = f"{folder}/cert.pem"
    settings.WEBHOOKS_CA_BUNDLE, settings.WEBHOOKS_BATCH_SIZE = cert, args.batch
    settings.HUEY["immediate"] = False  # the benchmark sends itself; no consumer wakes on commit
    try:
        with schema_context(workspace.schema_name):
            Endpoint.objects.all().delete()
            endpoint, _secret = create_endpoint(f"https://127.0.0.1:{port}/hook", ["delivery.sent"])
            print(
                f"load {os.getloadavg()[0]:.1f}; {args.events} events per round, emitted {args.chunk} per call, "
                f"{args.batch} per request"
            )
            for n in range(1, args.repeat + 1):
                before = receiver_stats(port, cert)
                emitted, sent, outcome = one_round(endpoint, args)
                after = receiver_stats(port, cert)
                arrived = after["events"] - before["events"]
                unique = after["unique_events"] - before["unique_events"]
                print(
                    f"round {n}: emit {args.events / emitted:,.0f} events/s; "
                    f"deliver {arrived / sent:,.0f} events/s ({outcome.delivered / sent:,.0f} requests/s); "
                    f"arrived {arrived}, distinct {unique}, failed requests {outcome.failed}; "
                    f"load {os.getloadavg()[0]:.1f}"
                )
            Endpoint.objects.filter(pk=endpoint.pk).delete()
    finally:
        receiver.terminate()
        receiver.wait(5)


if __name__ == "__main__":
    main()

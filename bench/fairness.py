"""Fair sharing: a 100-recipient mailing due now while another workspace sends 200,000.

    .venv/bin/python bench/fairness.py [--big 200000] [--small 100] [--workers 2] [--after 15]

Uses DATABASE_URL / REDIS_URL like the project (Redis is needed: the weighted
round robin lives there). Starts smtp-sink, creates workspace A with `--big`
clients and workspace B with `--small`, starts A's run with W consumer
processes running the huey send task's fair loop (tenant_apps/senders/consumer.py,
every process busy with A), and `--after` seconds later makes B's mailing due
the way saving it does (its run is prepared and registered, with no consumer
of its own). It reports the time from B's due time to B's last delivery and
A's throughput in the 10 s before B was due and while B was sending.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

from bench.send_mailing import BODY, collect, free_port, setup_django, start_sink  # noqa: E402


def spawn(args, env=None):
    import subprocess

    return subprocess.Popen(
        [sys.executable, __file__, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )


def consumer_worker(schema_name, run_id):
    """A huey send task's loop, as `send_run` runs it, until no registered run is left."""
    setup_django()
    from tenant_apps.senders import consumer

    started = time.time()
    while consumer.serve(schema_name, run_id, budget=300, on_waiting=lambda *a: None, on_busy=lambda *a: None):
        pass
    print(json.dumps({"start": started, "end": time.time(), "sent": 0, "rss": 0}))


def workspace_with(count, slug_prefix):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message
    from tenants.services import create_workspace

    slug = f"{slug_prefix}-{uuid.uuid4().hex[:6]}"
    workspace = create_workspace(name=slug, slug=slug)
    with schema_context(workspace.schema_name):
        for first in range(0, count, 20_000):
            Client.objects.bulk_create(
                Client(email=f"{slug_prefix}{i}@example.com", full_name=f"Клиент {i}")
                for i in range(first, min(first + 20_000, count))
            )
        message = Message.objects.create(subject="Привет, {{ name }}", body_text=BODY)
        now = timezone.now()
        (mailing,) = Mailing.objects.bulk_create(  # no signal: the bench makes it due itself
            [Mailing(name=slug, message=message, start_at=now, end_at=now + dt.timedelta(days=1))]
        )
    return workspace, mailing


def start(workspace, mailing):
    """What saving a mailing due now does: prepare its run and register it for the consumers."""
    from django_tenants.utils import schema_context

    from tenant_apps.delivery import services
    from tenant_apps.senders import consumer

    with schema_context(workspace.schema_name):
        (run,) = services.prepare_due_runs(mailing, workspace=workspace)
    consumer.register_run(workspace.schema_name, run.pk)
    return run


def sent_between(workspace, run, start, end):
    from django_tenants.utils import schema_context

    from tenant_apps.delivery.models import Delivery

    with schema_context(workspace.schema_name):
        return Delivery.objects.filter(run=run, status="sent", finished_at__gte=start, finished_at__lt=end).count()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--after", type=float, default=15.0, help="seconds into A's run when B falls due")
    parser.add_argument("--consumer-worker", nargs=2)
    args = parser.parse_args()
    if args.consumer_worker:
        return consumer_worker(args.consumer_worker[0], int(args.consumer_worker[1]))

    setup_django()
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenant_apps.delivery.models import Delivery, Run

    port = free_port()
    sink = start_sink(port)
    a, a_mailing = workspace_with(args.big, "a")
    b, b_mailing = workspace_with(args.small, "b")
    try:
        a_run = start(a, a_mailing)
        env = {"DELIVERY_EMAIL_URL": f"smtp://127.0.0.1:{port}"}
        workers = [spawn(["--consumer-worker", a.schema_name, a_run.pk], env) for _ in range(args.workers)]
        time.sleep(args.after)
        due = timezone.now()
        b_run = start(b, b_mailing)
        while True:
            with schema_context(b.schema_name):
                if Run.objects.get(pk=b_run.pk).status == Run.Status.DONE:
                    break
            time.sleep(0.1)
        with schema_context(b.schema_name):
            last = Delivery.objects.filter(run=b_run).order_by("-finished_at").values_list("finished_at", flat=True)[0]
            b_sent = Delivery.objects.filter(run=b_run, status="sent").count()
        b_seconds = (last - due).total_seconds()
        collect(workers)  # A is done: every result is written, so the windows can be counted
        a_before = sent_between(a, a_run, due - dt.timedelta(seconds=10), due) / 10
        a_during = sent_between(a, a_run, due, last)
        a_after = sent_between(a, a_run, due, due + dt.timedelta(seconds=10)) / 10
        with schema_context(a.schema_name):
            a_first, a_last = (
                Delivery.objects.filter(run=a_run).order_by(field).values_list("finished_at", flat=True)[0]
                for field in ("finished_at", "-finished_at")
            )
            a_sent = Delivery.objects.filter(run=a_run, status="sent").count()
    finally:
        sink.terminate()
        sink.wait()
        a.delete(force_drop=True)
        b.delete(force_drop=True)

    a_rate = a_sent / (a_last - a_first).total_seconds()
    print(
        f"A: {a_sent} sent in {(a_last - a_first).total_seconds():.1f} s ({a_rate:.0f} msg/s), {args.workers} consumers"
    )
    print(f"B: {b_sent} sent; from due time to its last delivery {b_seconds:.2f} s (target ≤ 10 s)")
    if b_seconds > 0 and a_before:
        a_while_b = a_during / b_seconds
        share = b_sent / (a_during + b_sent)
        print(f"A: {a_before:.0f} msg/s in the 10 s before B was due, {a_while_b:.0f} msg/s while B was sending")
        print(f"A's drop while B sent: {1 - a_while_b / a_before:.0%}; B's share of what was sent then: {share:.0%}")
        lost = (a_before - a_after) * 10
        print(
            f"A: {a_after:.0f} msg/s in the 10 s after B was due: {lost:.0f} messages fewer than in the 10 s before "
            f"({lost / (a_before * 10):.1%}), against B's {b_sent} ({b_sent / (a_before * 10):.1%})"
        )


if __name__ == "__main__":
    main()

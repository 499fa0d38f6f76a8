"""Open and click tracking: the endpoints under gunicorn against a bare Django view, and the drain.

    .venv/bin/python bench/tracking.py [--seconds 10] [--repeat 3] [--hits 200000] [--connections 32]

Needs `wrk` (Debian package `wrk`), PostgreSQL and Redis. Uses its own
database (DATABASE_URL, default .../rassylka_bench_tracking; created and
migrated on the first run) and keeps its workspace `bench-trk` there.

1. Web: gunicorn started exactly as deployed (`-c deploy/gunicorn.conf.py`,
   its workers and threads, access log on — to /dev/null) with
   bench/tracking_settings.py, which adds a bare Django "ok" at /ok. wrk
   measures /ok, the open pixel and the click redirect in turn, `--repeat`
   rounds interleaved, same server, same run; the best round of each is kept.
2. Drain: `--hits` hits appended to the stream (spread over 1,000
   deliveries, opens and clicks), then `drain()` moves them into
   PostgreSQL; hits per second of the drain alone.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, free_port, process_cpu, start_gunicorn  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka_bench_tracking")
SLUG = "bench-trk"
DELIVERIES = 1000


def setup():
    """The workspace, a run with DELIVERIES sent deliveries and two links; returns (workspace, run)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from tenants.models import Workspace
    from tenants.services import create_workspace

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.filter(slug=SLUG).first() or create_workspace(name=SLUG, slug=SLUG)
    with schema_context(workspace.schema_name):
        return workspace, ensure_run(workspace)


def ensure_run(workspace):
    import datetime as dt

    from django.utils import timezone

    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message
    from tenant_apps.delivery.models import Delivery, Run
    from tenant_apps.engagement.tracking import publish, store_links

    run = Run.objects.filter(mailing__name="bench").first()
    if run is None:
        now = timezone.now()
        clients = Client.objects.bulk_create(Client(email=f"b{i}@example.com") for i in range(DELIVERIES))
        message = Message.objects.create(subject="Hi", body_text="https://example.com/a https://example.com/b")
        (mailing,) = Mailing.objects.bulk_create(
            [Mailing(name="bench", message=message, start_at=now, end_at=now + dt.timedelta(days=365))]
        )
        run = Run.objects.create(mailing=mailing, scheduled_for=now, deadline=now + dt.timedelta(days=365))
        Delivery.objects.bulk_create(
            Delivery(run=run, client=c, email=c.email, status="sent", finished_at=now - dt.timedelta(days=1))
            for c in clients
        )
    stored = store_links(run, ["https://example.com/a", "https://example.com/b"])
    publish(workspace.slug, stored)
    run.link_ids = [pk for _n, (pk, _url) in sorted(stored.items())]
    run.delivery_ids = list(Delivery.objects.filter(run=run).values_list("id", flat=True))
    return run


def wrk(port, path, host, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{path}: {errors.group(1)} error responses\n{out}")
    return rps, requests


def workers_cpu(master):
    """CPU seconds of gunicorn so far: master, live workers, and workers that exited (max_requests
    recycles them; the master reaps them, so their time is in its cutime/cstime)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return process_cpu(master, with_reaped=True) + sum(process_cpu(int(pid)) for pid in children)


def bench_web(workspace, run, seconds, repeat, connections):
    from tenant_apps.engagement.tokens import CLICK, OPEN, TokenSigner

    signer = TokenSigner(workspace.slug)
    delivery = run.delivery_ids[0]
    paths = {
        "bare Django view (ok)": "/ok",
        "open pixel": f"/o/{signer.make(OPEN, delivery)}.gif",
        "click redirect": f"/c/{signer.make(CLICK, delivery, run.link_ids[0])}",
    }
    port = free_port()
    server = start_gunicorn(port, DJANGO_SETTINGS_MODULE="bench.tracking_settings")
    best = dict.fromkeys(paths, 0.0)
    cpu = {name: [] for name in paths}
    try:
        for path in paths.values():  # warm every worker up
            wrk(port, path, workspace.host, 2, connections)
        for round_ in range(repeat):
            for name, path in paths.items():
                before = workers_cpu(server.pid)
                rps, requests = wrk(port, path, workspace.host, seconds, connections)
                per_request = (workers_cpu(server.pid) - before) / requests * 1e6
                best[name] = max(best[name], rps)
                cpu[name].append(per_request)
                print(f"round {round_ + 1}: {name:24} {rps:9,.0f} req/s, gunicorn CPU {per_request:5.0f} µs/request")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    bare = best["bare Django view (ok)"]
    print("\nbest of each:")
    bare_cpu = min(cpu["bare Django view (ok)"])
    for name, rps in best.items():
        least = min(cpu[name])
        print(
            f"  {name:24} {rps:9,.0f} req/s  {rps / bare:.2f}x the bare view; "
            f"least CPU {least:.0f} µs/request = {bare_cpu / least:.2f}x the bare view's rate per core"
        )


def bench_drain(workspace, run, hits):
    from tenant_apps.engagement import stream
    from tenant_apps.engagement.drain import drain

    client = stream.client(timeout=stream.DRAIN_TIMEOUT)
    client.delete(stream.stream_key())
    pipe = client.pipeline(transaction=False)
    for i in range(hits):
        delivery = run.delivery_ids[i % len(run.delivery_ids)]
        click = i % 4 == 0
        link = run.link_ids[(i // 4) % 2] if click else 0
        packed = stream.pack(SLUG, "c" if click else "o", delivery, link, "198.51.100.0/24", "Chrome", "")
        pipe.xadd(stream.stream_key(), {"h": packed})
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    redis_pid = client.info("server")["process_id"]
    cpu_before = process_cpu(os.getpid()), process_cpu(backend), process_cpu(redis_pid)
    started = time.perf_counter()
    written = drain(budget_seconds=600)
    elapsed = time.perf_counter() - started
    cpu = [
        after - before
        for before, after in zip(
            cpu_before, (process_cpu(os.getpid()), process_cpu(backend), process_cpu(redis_pid)), strict=True
        )
    ]
    print(f"\ndrain: {written:,} hits in {elapsed:.2f} s = {written / elapsed:,.0f} hits/s", flush=True)
    per_hit = [seconds / written * 1e6 for seconds in cpu]
    print(
        f"CPU per hit: drain process {per_hit[0]:.1f} µs, its PostgreSQL backend {per_hit[1]:.1f} µs, "
        f"Redis {per_hit[2]:.1f} µs; total {sum(per_hit):.1f} µs "
        f"(= {1e6 / sum(per_hit):,.0f} hits/s of one core's time)",
        flush=True,
    )
    if written != hits:
        raise SystemExit(f"drain wrote {written}, expected {hits}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--hits", type=int, default=200_000)
    parser.add_argument("--skip-web", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.skip_web:
        raise SystemExit("wrk is needed: apt-get install wrk")
    ensure_database(os.environ["DATABASE_URL"])
    workspace, run = setup()
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    if not args.skip_web:
        bench_web(workspace, run, args.seconds, args.repeat, args.connections)
    bench_drain(workspace, run, args.hits)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

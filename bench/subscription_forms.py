"""Sign-up form posts under load: the public form endpoint (/f/<form>/) under gunicorn, with wrk.

    .venv/bin/python bench/subscription_forms.py [--seconds 10] [--repeat 3] [--connections 16]

Needs `wrk` (Debian package `wrk`), PostgreSQL and Redis. Uses its own
database (DATABASE_URL, default .../rassylka_bench_forms; created and
migrated on the first run) and keeps its workspace `bench-forms` there.

gunicorn is started as deployed (`-c deploy/gunicorn.conf.py`: its workers
and threads, access log on — to /dev/null), with the per-network limit
raised (SUBSCRIPTION_FORM_POSTS_PER_IP, SUBSCRIPTION_FORM_POSTS_PER_FORM):
every post comes from 127.0.0.1, and a limited post is a cheap 429, not the
work being measured. wrk posts (bench/subscription_forms.lua), `--repeat`
rounds of each, the best kept:

- new:  a new address per request: the whole path (limits in Redis, a new
        client, an unconfirmed membership, a consent record, the one-per-hour
        key, the confirmation's delivery and its queued send task);
- same: one address again and again (a flood on one address: the pending
        sign-up is found, no second email);
- bot:  the honeypot filled in (refused before any SQL).

No huey consumer runs: the confirmations wait in the queue (flushed at the end).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import cpu_per_request, ensure_database, free_port, server_cpu, start_gunicorn  # noqa: E402

# As deployed (.env.sample's persistent connections); every post comes from one address, so no limit applies.
FORM_SERVER_ENV = {
    "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "60"),
    "SUBSCRIPTION_FORM_POSTS_PER_IP": "100000000",
    "SUBSCRIPTION_FORM_POSTS_PER_FORM": "100000000",
}
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka_bench_forms")
SLUG = "bench-forms"
SCRIPT = ROOT / "bench" / "subscription_forms.lua"


def setup():
    """The workspace and a public double opt-in list with a form; returns (workspace, form slug)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from tenant_apps.audience.models import MailingList, SubscriptionForm
    from tenants.models import Workspace
    from tenants.services import create_workspace

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.filter(slug=SLUG).first() or create_workspace(name=SLUG, slug=SLUG)
    with schema_context(workspace.schema_name):
        mailing_list, _ = MailingList.objects.get_or_create(name="bench", defaults={"is_public": True})
        form = SubscriptionForm.objects.filter(mailing_list=mailing_list).first()
        if form is None:
            form = SubscriptionForm.objects.create(
                mailing_list=mailing_list, title="Bench", consent_text="I agree.", shown_fields=["full_name"]
            )
        return workspace, form.slug


def wrk(port, path, host, seconds, connections, mode):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-H", f"Host: {host}"]
        + ["-s", str(SCRIPT)]
        + [f"http://127.0.0.1:{port}{path}", "--", mode, f"b{uuid.uuid4().hex[:8]}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{mode}: {errors.group(1)} error responses\n{out}")
    return rps, latency.group(1) if latency else "?", requests


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    ensure_database(os.environ["DATABASE_URL"])
    workspace, slug = setup()
    path = f"/f/{slug}/"
    print(f"load average before: {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores", flush=True)
    port = free_port()
    server = start_gunicorn(port, **FORM_SERVER_ENV)
    modes = {"new": "a new address each", "same": "one address again", "bot": "honeypot filled"}
    best = dict.fromkeys(modes, 0.0)
    cpu = {mode: [] for mode in modes}
    try:
        # Every worker loads Django on its first request: warm them all up (slow on a busy machine).
        for mode in modes:
            wrk(port, path, workspace.host, 5, args.connections, mode)
        for round_ in range(args.repeat):
            for mode, label in modes.items():
                before = server_cpu(server.pid)
                rps, latency, requests = wrk(port, path, workspace.host, args.seconds, args.connections, mode)
                web, database = cpu_per_request(before, server_cpu(server.pid), requests)
                best[mode] = max(best[mode], rps)
                cpu[mode].append(web + database)
                print(
                    f"round {round_ + 1}: {label:20} {rps:8,.0f} posts/s (mean latency {latency}); CPU per post: "
                    f"gunicorn {web:,.0f} µs + PostgreSQL {database:,.0f} µs",
                    flush=True,
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        from huey.contrib.djhuey import HUEY

        HUEY.flush()
    cores = os.cpu_count()
    print(f"\nbest of each (and what {cores} idle cores would do at the least CPU per post measured):")
    for mode, label in modes.items():
        least = min(cpu[mode])
        capacity = cores * 1e6 / least
        print(f"  {label:20} {best[mode]:8,.0f} posts/s; {least:,.0f} µs CPU per post = {capacity:,.0f} posts/s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if best["new"] < 200:
        raise SystemExit(f"new sign-ups: {best['new']:.0f} posts/s, below the 200/s goal")


if __name__ == "__main__":
    main()

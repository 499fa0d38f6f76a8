"""The REST API end to end under gunicorn: bulk upsert of clients, and transactional sends accepted per second.

    .venv/bin/python bench/api.py [--requests 10] [--rows 10000] [--parallel 1] [--seconds 10] [--connections 16]
                                 [--sends-only]

Needs `wrk` (Debian package `wrk`), PostgreSQL and Redis; uses DATABASE_URL /
REDIS_URL / HUEY_REDIS_URL like the project (the database is created and
migrated on the first run) and keeps its workspace `bench-api` there, its
clients emptied at the start of every run.

1. Bulk upsert: `--requests` POST /api/v1/clients/bulk/ of `--rows` new
   clients each (with a custom field), one after another, timed from the
   first request to the last answer (JSON encoding on the client side not
   included), `--parallel` of them in flight at once (default 1); then the
   same requests again, which update every row.
2. Transactional sends: wrk POSTs /api/v1/send/ (subject, body, a
   placeholder value) for `--seconds` with `--connections` connections;
   requests per second answered 202 (a delivery stored and its sending
   queued; no huey consumer runs, so nothing is sent during the bench).

gunicorn runs as deployed (`-c deploy/gunicorn.conf.py`, DEBUG off, access
log to /dev/null); the per-key rate limit is raised so it is counted on
every request but never refuses one.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import cpu_per_request, ensure_database, free_port, server_cpu, start_gunicorn  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

SLUG = "bench-api"
SERVER_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-api-secret-key-0123456789abcdef0123456789",
    "BASE_DOMAIN": "localhost",
    "DEFAULT_FROM_EMAIL": "Rassylka <noreply@localhost>",
    "SENDERS_ENCRYPTION_KEYS": "ZGV2LW9ubHktaW5zZWN1cmUtZmVybmV0LWtleS0wMDA=",
    "SECURE_SSL_REDIRECT": "0",
    "EMAIL_URL": "smtp://127.0.0.1:25",
    "DB_CONN_MAX_AGE": "60",  # as .env.sample deploys it
    "API_RATE_PER_SECOND": "1000000",
    "API_RATE_BURST": "1000000",
}


def setup():
    """The workspace with no clients and no deliveries, a custom field, and a read-write key; (workspace, secret)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenant_apps.api.keys import create_key
    from tenant_apps.audience.models import CustomField
    from tenants.models import Workspace
    from tenants.services import create_workspace

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.filter(slug=SLUG).first() or create_workspace(name=SLUG, slug=SLUG)
    with schema_context(workspace.schema_name):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE audience_client, delivery_delivery CASCADE")
        CustomField.objects.get_or_create(key="city", defaults={"label": "City"})
        _key, secret = create_key(name="bench", access="read_write", expires_at=None)
    return workspace, secret


def post(port, host, secret, path, body: bytes):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        method="POST",
        headers={"Host": host, "Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 (http://127.0.0.1 only)
        return json.loads(response.read())


def bench_bulk(port, host, secret, requests, rows, parallel):
    bodies = [
        json.dumps(
            {
                "clients": [
                    {
                        "email": f"bulk-{n * rows + i}@example.com",
                        "full_name": f"Client {i}",
                        "fields": {"city": "Kazan"},
                    }
                    for i in range(rows)
                ]
            }
        ).encode()
        for n in range(requests)
    ]
    for label, counted in (("new clients", "created"), ("the same clients again (updates)", "updated")):
        started = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            answers = pool.map(lambda body: post(port, host, secret, "/api/v1/clients/bulk/", body), bodies)
            done = sum(answer[counted] for answer in answers)
        elapsed = time.perf_counter() - started
        print(
            f"bulk upsert, {label}, {parallel} at a time: {done:,} clients in {elapsed:.1f} s "
            f"= {done / elapsed:,.0f} clients/s"
        )
        assert done == requests * rows, done


SEND = {
    "to": "someone@example.com",
    "subject": "Your code",
    "body_text": "Code: {{ code }}",
    "values": {"code": "4711"},
}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Host"] = "%s"
"""


def bench_sends(server, port, host, secret, seconds, connections):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (json.dumps(SEND), secret, host))
    url = f"http://127.0.0.1:{port}/api/v1/send/"
    subprocess.run(["wrk", "-t2", "-c4", "-d2s", "-s", script.name, url], capture_output=True, check=True)  # warm
    before = server_cpu(server.pid)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    web, database = cpu_per_request(before, server_cpu(server.pid), int(re.search(r"(\d+) requests in", out).group(1)))
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    cores = os.cpu_count()
    print(
        f"transactional sends: {rps:,.0f} requests/s accepted (202), mean latency {latency}, {connections} connections;"
        f" CPU per request: gunicorn {web:,.0f} µs + PostgreSQL {database:,.0f} µs"
        f" = {cores * 1e6 / (web + database):,.0f} requests/s of {cores} idle cores"
    )
    if errors:
        raise SystemExit(f"{errors.group(1)} error responses\n{out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=1, help="bulk requests in flight at once")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sends-only", action="store_true", help="skip the bulk upsert")
    args = parser.parse_args()
    ensure_database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka"))
    workspace, secret = setup()
    print(f"load before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    port = free_port()
    server = start_gunicorn(port, **SERVER_ENV)
    try:
        if not args.sends_only:
            bench_bulk(port, workspace.host, secret, args.requests, args.rows, args.parallel)
        bench_sends(server, port, workspace.host, secret, args.seconds, args.connections)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

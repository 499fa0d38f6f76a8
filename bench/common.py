"""What several benchmarks share: their database, a free port, gunicorn as deployed, a process's CPU time."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url):
    """Create the database of `url` if it does not exist yet."""
    import environ
    import psycopg2

    config = environ.Env.db_url_config(url)
    admin = psycopg2.connect(
        dbname="postgres", user=config["USER"], host=config["HOST"], port=config["PORT"], password=config["PASSWORD"]
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
    admin.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port, **env):
    """gunicorn as deployed (`-c deploy/gunicorn.conf.py`) on 127.0.0.1:`port` with `env` added, once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "saas.wsgi"],
        cwd=ROOT,
        env={**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def process_cpu(pid, with_reaped=False):
    """User + system CPU seconds of a process (from /proc), with its reaped children's when asked; 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if with_reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu(master):
    """CPU seconds so far of gunicorn (master, workers, reaped workers) and of the database's other backends
    (the workers' persistent connections): the work of a request, wherever it is done."""
    from django.db import connection

    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    web = process_cpu(master, with_reaped=True) + sum(process_cpu(int(pid)) for pid in children)
    return web, {pid: process_cpu(pid) for pid in backends}


def cpu_per_request(before, after, requests):
    """(gunicorn, PostgreSQL) CPU µs per request between two server_cpu() readings. A backend that
    appeared meanwhile counts whole; one that ended is missed (workers are recycled every ~2,000
    requests: a slight undercount)."""
    web = after[0] - before[0]
    database = sum(seconds - before[1].get(pid, 0.0) for pid, seconds in after[1].items())
    return web / requests * 1e6, database / requests * 1e6

"""Public pages under a spike: home, blog list and a post under gunicorn, against bare Django views.

    source /work/wt/<name>.env   # DATABASE_URL, REDIS_URL, HUEY_REDIS_URL
    .venv/bin/python bench/public_pages.py [--seconds 10] [--repeat 2] [--connections 50]

Needs `wrk` (Debian package `wrk`), PostgreSQL and Redis. Production-like:
DEBUG off, manifest static files (collected into var/bench-static),
DB_CONN_MAX_AGE=60 as .env.sample says, gunicorn started exactly as deployed
(`-c deploy/gunicorn.conf.py`: 2 × cores + 1 workers, 2 threads, access log
on — to /dev/null), requests as nginx forwards them (X-Forwarded-Proto:
https). The settings (bench/public_pages_settings.py) add two yardsticks
served by the same server: "ok" from a first middleware, and a bare view
behind the whole middleware stack. The database (DATABASE_URL) is migrated
on the first run and given 12 published posts.

wrk (-t2) hits each page in turn, `--repeat` rounds, same server, same run;
the best round of each is kept. Anonymous visitors with no cookie, except
the post page, read by a returning visitor (the `rassylka_visitor` cookie:
a first visit is a view to count, a database write, on every request).
Then the same pages again with the page cache off (PUBLIC_PAGE_CACHE_SECONDS=0).
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
sys.path.insert(0, str(ROOT / "bench"))

from tracking import workers_cpu  # noqa: E402

from bench.common import ensure_database, free_port, start_gunicorn  # noqa: E402

PRODUCTION_LIKE = {
    "DJANGO_SETTINGS_MODULE": "bench.public_pages_settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-public-pages-" + "x" * 40,
    "BASE_DOMAIN": "localhost",
    "DEFAULT_FROM_EMAIL": "Rassylka <noreply@localhost>",
    "EMAIL_URL": "smtp://127.0.0.1:1025",
    "SENDERS_ENCRYPTION_KEYS": "ZGV2LW9ubHktaW5zZWN1cmUtZmVybmV0LWtleS0wMDA=",
    "STATIC_ROOT": str(ROOT / "var" / "bench-static"),
    "DB_CONN_MAX_AGE": "60",
}
HOST = "localhost"


def setup():
    """Migrated database, collected static files, 12 posts; returns a post's path."""
    os.environ.update(PRODUCTION_LIKE)
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    from shared_apps.blog.models import Post

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    for n in range(12 - Post.objects.count()):
        Post.objects.create(title=f"Bench post {n}", body="Some *text*. " * 200, status=Post.Status.PUBLISHED)
    return Post.objects.visible().first().get_absolute_url()


def wrk(port, path, seconds, connections, headers):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Host: {HOST}"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    if errors:
        raise SystemExit(f"{path}: {errors.group(1)} error responses\n{out.stdout}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))
    return rps, int(re.search(r"(\d+) requests in", out.stdout).group(1))


def measure(pages, seconds, repeat, connections, **env):
    """Best req/s and least gunicorn CPU µs/request of each page over `repeat` rounds, one gunicorn for all.

    The CPU per request is the steadier figure on a shared machine: other
    processes take wall time from wrk's rounds, not CPU from a request.
    """
    port = free_port()
    server = start_gunicorn(port, **env)
    best, least_cpu = dict.fromkeys(pages, 0.0), dict.fromkeys(pages, float("inf"))
    try:
        for path, headers in pages.values():  # warm every worker (and the cache) up
            wrk(port, path, 2, connections, headers)
        for round_ in range(repeat):
            for name, (path, headers) in pages.items():
                before = workers_cpu(server.pid)
                rps, requests = wrk(port, path, seconds, connections, headers)
                cpu = (workers_cpu(server.pid) - before) / requests * 1e6
                best[name], least_cpu[name] = max(best[name], rps), min(least_cpu[name], cpu)
                print(f"round {round_ + 1}: {name:34} {rps:9,.0f} req/s, gunicorn CPU {cpu:6.0f} µs/req", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return best, least_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    post_path = setup()
    proxied = ["X-Forwarded-Proto: https"]
    returning = [*proxied, f"Cookie: rassylka_visitor={uuid.uuid4().hex}"]
    public = {
        "home /": ("/", proxied),
        "blog list /blog/": ("/blog/", proxied),
        "blog post (returning visitor)": (post_path, returning),
    }
    yardsticks = {
        'bare "ok" (first middleware)': ("/ok", proxied),
        "bare view (full middleware)": ("/bench/bare/", proxied),
    }
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    cached, cpu = measure({**yardsticks, **public}, args.seconds, args.repeat, args.connections)
    print("\nthe page cache off:", flush=True)
    uncached, uncached_cpu = measure(public, args.seconds, 1, args.connections, PUBLIC_PAGE_CACHE_SECONDS="0")
    print(f"load average after: {os.getloadavg()[0]:.1f}\n")
    ok, bare = 'bare "ok" (first middleware)', "bare view (full middleware)"
    columns = ("req/s", "×view", "×ok", "CPU µs", "×view", "×ok", "off req/s", "off µs")
    print(f"{'best of each':34} " + " ".join(f"{column:>7}" for column in columns))
    for name in {**yardsticks, **public}:
        print(
            f"{name:34} {cached[name]:7,.0f} {cached[name] / cached[bare]:7.2f} {cached[name] / cached[ok]:7.2f} "
            f"{cpu[name]:7,.0f} {cpu[bare] / cpu[name]:7.2f} {cpu[ok] / cpu[name]:7.2f}"
            + (f" {uncached[name]:7,.0f} {uncached_cpu[name]:7,.0f}" if name in public else "")
        )
    print("(×: the page's rate over the yardstick's; for CPU, the yardstick's µs over the page's)")


if __name__ == "__main__":
    main()

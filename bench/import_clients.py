"""How fast the CSV import is, and how fast the client list stays, with 100,000 clients.

    DEBUG=1 .venv/bin/python bench/import_clients.py [ROWS]
    DEBUG=1 .venv/bin/python bench/import_clients.py --one-file 1000000 [--zip]

Creates a fresh workspace bench-clients-<random>, generates a CSV of ROWS
clients (default 100,000; 1% invalid emails, 1% duplicates), imports it
through the same service the huey task runs (`services.run_import`), imports
it again (everything already there), times the list's queries (a page, its
count, a search), then drops the workspace. Uses DATABASE_URL.

--one-file: the same rows written to a file on disk (zipped with --zip),
stored as an upload is (streamed into a large object), then imported once;
prints rows/s and the process's peak RSS before and after the import (flat
memory: the import adds little to it whatever the number of rows).
"""

import os
import random
import resource
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.paginator import Paginator  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.common import process_cpu  # noqa: E402
from tenant_apps.audience import services  # noqa: E402
from tenant_apps.audience.models import ImportJob  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

FIRST = ["Анна", "Борис", "Вера", "Глеб", "Дарья", "Ivan", "Olga", "Peter", "Maria", "John"]
LAST = ["Иванова", "Петров", "Сидорова", "Smith", "Kuznetsov", "Popova", "Brown", "Lebedev"]


def generate_csv(rows):
    return ("\n".join(csv_lines(rows)) + "\n").encode()


def csv_lines(rows):
    rng = random.Random(42)
    yield "email;full_name;comment"
    for n in range(rows):
        if n % 100 == 1:
            email = f"broken-{n}.example.com"  # invalid
        elif n % 100 == 2:
            email = f"USER{n - 2}@EXAMPLE.COM"  # duplicate of an earlier row, in another case
        else:
            email = f"user{n}@example.com"
        yield f"{email};{rng.choice(FIRST)} {rng.choice(LAST)};imported in bench row {n}"


def timed(label, fn, repeat=5):
    best = min(_once(fn) for _ in range(repeat))
    print(f"  {label}: {best * 1000:.1f} ms")


def _once(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(rows):
    slug = f"bench-clients-{uuid.uuid4().hex[:6]}"
    workspace = create_workspace(name=slug, slug=slug)
    try:
        data = generate_csv(rows)
        with schema_context(workspace.schema_name):
            for attempt in ("first import", "same file again"):
                job = ImportJob.objects.create(file_name="bench.csv", data=data)
                started = time.perf_counter()
                job = services.run_import(job)
                elapsed = time.perf_counter() - started
                print(
                    f"{attempt}: {job.total_rows} rows in {elapsed:.2f} s = {job.total_rows / elapsed:,.0f} rows/s "
                    f"(added {job.created_count}, already there {job.existing_count}, rejected {job.error_count})"
                )
            print("client list with", rows, "clients (best of 5):")
            timed("page 1 + count", lambda: len(Paginator(services.search_clients(), 50).get_page(1).object_list))
            timed("page 1000 + count", lambda: len(Paginator(services.search_clients(), 50).get_page(1000).object_list))
            timed(
                "search 'user4242' page + count",
                lambda: len(Paginator(services.search_clients("user4242"), 50).get_page(1).object_list),
            )
            timed(
                "search 'петров' page + count",
                lambda: len(Paginator(services.search_clients("петров"), 50).get_page(1).object_list),
            )
            timed(
                "unsubscribed filter page + count",
                lambda: len(Paginator(services.search_clients("", services.UNSUBSCRIBED), 50).get_page(1).object_list),
            )
            timed("export all rows", lambda: sum(1 for _ in services.export_rows(services.search_clients())), 1)
    finally:
        drop(workspace)


def drop(workspace):
    """Drop the bench's workspace and take its emails out of the public recipient counts.

    Dropping a schema bypasses the services, so the counts would keep a million
    rows at refs 1 and the next run would update them instead of inserting:
    the periodic repair puts them right, and every run starts from the same table.
    """
    from shared_apps.landing import stats

    workspace.delete(force_drop=True)
    stats.refresh_all_stats()


def backend_pid():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_file(rows, zipped):
    from django.conf import settings

    from tenant_apps.audience import importfile

    settings.DEBUG = False  # DEBUG keeps every query's SQL: memory would grow with the file for that alone

    slug = f"bench-clients-{uuid.uuid4().hex[:6]}"
    workspace = create_workspace(name=slug, slug=slug)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "clients.csv")
        with open(path, "w", encoding="utf-8") as out:
            for line in csv_lines(rows):
                out.write(line + "\n")
        if zipped:
            with zipfile.ZipFile(path + ".zip", "w", zipfile.ZIP_DEFLATED) as archive:
                archive.write(path, "clients.csv")
            path += ".zip"
        size = os.path.getsize(path)
        try:
            with schema_context(workspace.schema_name):
                with open(path, "rb") as upload:
                    started = time.perf_counter()
                    oid, size = importfile.store(iter(lambda: upload.read(importfile.CHUNK_BYTES), b""))
                    stored = time.perf_counter() - started
                job = ImportJob.objects.create(file_name=os.path.basename(path), file_oid=oid, file_size=size)
                rss_before = peak_rss_mb()
                backend = backend_pid()
                cpu_before = process_cpu(os.getpid()), process_cpu(backend)
                started = time.perf_counter()
                job = services.run_import(job)
                elapsed = time.perf_counter() - started
                python_cpu = process_cpu(os.getpid()) - cpu_before[0]
                postgres_cpu = process_cpu(backend) - cpu_before[1]
            print(
                f"{os.path.basename(path)}, {size / 2**20:.1f} MB stored in {stored:.1f} s; {job.status}: "
                f"{job.total_rows:,} rows in {elapsed:.1f} s = {job.total_rows / elapsed:,.0f} rows/s "
                f"(added {job.created_count:,}, rejected {job.error_count:,}); "
                f"peak RSS {rss_before:.0f} MB before the import, {peak_rss_mb():.0f} MB after; "
                f"CPU {python_cpu:.1f} s in Python, {postgres_cpu:.1f} s in its PostgreSQL backend; "
                f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}"
            )
        finally:
            drop(workspace)


if __name__ == "__main__":
    if "--one-file" in sys.argv:
        one_file(int(sys.argv[sys.argv.index("--one-file") + 1]), "--zip" in sys.argv)
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

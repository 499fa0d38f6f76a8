# ruff: noqa: S608  (bench-only SQL; schema names are generated here, not input)
"""Scale benchmark (issue 16): real workspaces up to N, measured at each checkpoint.

    .venv/bin/python bench/scale.py [--n 100,1000,10000] [--quick] [--workers 4] [--keep]
    .venv/bin/python bench/scale.py --n 10000 --fill-only   # then, on a quiet machine:
    .venv/bin/python bench/scale.py --n 10000 --reuse [--apply-up-to 10000]

Runs against its own database: DATABASE_URL's with `_scale` appended, created
(and `migrate`d) at the start and dropped at the end (--keep leaves it). At
each checkpoint N (default 100, 1,000, 10,000; --quick: 100 only, with 5
creations instead of 20) it first tops the database up to N workspaces (real
ones: row, domain and a schema from the sign-up's pg_catalog clone plan, sent
as one statement per workspace on --workers parallel connections; it says
how fast), then prints:

- `migrate` with nothing to do (the deploy command as it is);
- a one-migration apply: the newest `audience` migration is taken back in
  every workspace schema (its `sqlmigrate --backwards` SQL, untimed), then
  `migrate` applies it to all N (through tenants/rolling.py when that module
  exists, else `migrate`'s own sequential path, said so);
- console pages (a manager, median and worst of 5 requests each);
- the unique-recipient figure's update (one email added and removed through
  landing.counters, mean of 20) and its periodic repair over every schema;
- one workspace's dashboard (its owner, median and worst of 5; it has 1,000 clients);
- `pg_class` rows and the database's size (and per workspace);
- workspace creation, mean and worst of 20, from the pool and by clone.

A checkpoint whose projected size would take more than half the free disk is
skipped with the projection. Lines start with "N=" (`| grep ^N=`).
"""

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_SUFFIX = "_scale"
PREFIX = "bench-scale"


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="100,1000,10000", help="checkpoints, comma separated (default 100,1000,10000)")
    parser.add_argument("--quick", action="store_true", help="N=100 only, 5 creations per way")
    parser.add_argument("--workers", type=int, default=4, help="parallel connections filling workspaces")
    parser.add_argument("--keep", action="store_true", help="leave the bench database for a later look")
    parser.add_argument(
        "--fill-only",
        action="store_true",
        help="fill up to the largest N and stop, keeping the database (measure later with --reuse on a quiet machine)",
    )
    parser.add_argument("--reuse", action="store_true", help="top up the kept bench database instead of a new one")
    parser.add_argument(
        "--apply-up-to",
        type=int,
        default=1000,
        help="measure the one-migration apply only up to this N (without the rolling job it is ~0.5-0.8 s a schema)",
    )
    options = parser.parse_args()
    options.sizes = [100] if options.quick else sorted(int(n.replace("_", "")) for n in options.n.split(","))
    options.creations = 5 if options.quick else 20
    return options


# --- the bench's own database ---------------------------------------------------------------


def bench_database_url() -> tuple[str, str]:
    """(URL of the bench database, URL of the server's maintenance database)."""
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka"))
    name = base.path.lstrip("/") + BENCH_SUFFIX
    return urlunsplit(base._replace(path="/" + name)), urlunsplit(base._replace(path="/postgres"))


def recreate_database(url: str, maintenance_url: str, *, drop_only: bool = False) -> None:
    import psycopg2

    name = urlsplit(url).path.lstrip("/")
    server = psycopg2.connect(maintenance_url)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    server.close()


# --- measuring ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def repeated(action, times: int) -> list[float]:
    return [timed(action) for _ in range(times)]


def line(n: int, what: str, figure: str) -> None:
    print(f"N={n:>6,}  {what:<44} {figure}", flush=True)


def guarded(n: int, what: str, measure) -> None:
    """Print measure()'s figure, or FAILED with the error: one broken figure does not end the run."""
    from django.db import connection

    try:
        figure = measure()
    except Exception as error:  # noqa: BLE001 - the failure is the figure
        connection.close()  # a fresh connection (public schema) for the next measurement
        figure = "FAILED: " + (str(error).strip().splitlines() or [type(error).__name__])[0]
    line(n, what, figure)


def spread(timings: list[float], how: str = "median") -> str:
    middle = statistics.median(timings) if how == "median" else statistics.mean(timings)
    return f"{how} {ms(middle)}, worst {ms(max(timings))} (of {len(timings)})"


# --- workspaces -----------------------------------------------------------------------------


def workspace_count() -> int:
    from tenants.models import Workspace

    return Workspace.objects.exclude(schema_name="public").count()


def bulk_workspace() -> None:
    """One real workspace (row, domain, schema) the fast way, in one transaction.

    The same schema as a sign-up's clone (tenants/provisioning.py's plan), sent
    as one multi-statement string instead of ~200 round trips, and the rows
    inserted without the per-save cache forgetting (a new host is never cached).
    """
    from django.db import connection, transaction

    from tenants.crossschema import quote_ident
    from tenants.models import Domain, Workspace
    from tenants.provisioning import TARGET, clone_plan, template_version
    from tenants.services import schema_name_for, workspace_host

    slug = f"{PREFIX}-{uuid.uuid4().hex[:12]}"
    workspace = Workspace(name=slug, slug=slug, schema_name=schema_name_for(slug))
    quoted = quote_ident(workspace.schema_name)
    script = ";\n".join([f"CREATE SCHEMA {quoted}", *clone_plan(template_version())]).replace(TARGET, quoted)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(script)
        Workspace.objects.bulk_create([workspace])
        Domain.objects.bulk_create([Domain(domain=workspace_host(slug), tenant=workspace, is_primary=True)])


def fill(target: int, workers: int) -> tuple[int, float]:
    """Create workspaces until there are `target`, on `workers` connections; (made, seconds)."""
    from django.db import connection

    missing = max(0, target - workspace_count())
    remaining = iter(range(missing))
    lock = threading.Lock()
    errors = []

    def work():
        try:
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                bulk_workspace()
        except Exception as error:  # noqa: BLE001 - reported below, the bench stops
            errors.append(error)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return missing, time.perf_counter() - started


def creations(count: int) -> tuple[list[float], list[float]]:
    """(pool timings, clone timings) of `count` sign-up creations each."""
    from tenants.provisioning import drop_pool, refill_pool
    from tenants.services import create_workspace

    def create():
        slug = f"{PREFIX}-{uuid.uuid4().hex[:12]}"
        create_workspace(name=slug, slug=slug)

    refill_pool(count)  # untimed, as the huey task does it after sign-ups
    pool = repeated(create, count)
    drop_pool()
    clone = repeated(create, count)
    return pool, clone


# --- a deploy -------------------------------------------------------------------------------


def migrate_quietly() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0, stdout=StringIO())


def newest_migration(app: str = "audience") -> tuple[str, str]:
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    leaves = [node for node in MigrationLoader(connection).graph.leaf_nodes() if node[0] == app]
    return leaves[0]


def backwards_sql(app: str, name: str) -> str:
    from django.core.management import call_command
    from django.db import connection

    from tenants.models import Workspace

    out = StringIO()
    connection.set_schema(Workspace.objects.exclude(schema_name="public").values_list("schema_name", flat=True)[0])
    call_command("sqlmigrate", app, name, backwards=True, stdout=out)
    connection.set_schema_to_public()
    lines = [text for text in out.getvalue().splitlines() if text.strip() and not text.startswith("--")]
    return "\n".join(text for text in lines if text.strip().upper() not in ("BEGIN;", "COMMIT;"))


def take_back_everywhere(app: str, name: str, sql: str, workers: int) -> int:
    """Undo migration app.name in every workspace schema (not the template): they are then one behind."""
    from django.db import connection, transaction

    from tenants.crossschema import quote_ident, workspace_schemas

    schemas = iter([schema for _pk, schema in workspace_schemas()])
    lock = threading.Lock()
    done = []

    def work():
        try:
            while True:
                with lock:
                    schema = next(schemas, None)
                if schema is None:
                    return
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL search_path TO {quote_ident(schema)}, public")
                    cursor.execute(sql)
                    cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name])
                done.append(schema)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done)


def apply_path() -> str:
    import importlib.util

    if importlib.util.find_spec("tenants.rolling"):
        return "rolling job, tenants/rolling.py"
    return "rolling job not available: migrate's sequential django-tenants executor"


# --- pages ----------------------------------------------------------------------------------


def page_timings(client, path: str, times: int = 5) -> list[float]:
    response = client.get(path)  # warm: templates, host cache
    assert response.status_code == 200, (path, response.status_code)
    return repeated(lambda: client.get(path), times)


def people():
    """(a manager for the console, an owner and their workspace with 1,000 clients for the dashboard)."""
    from django.conf import settings
    from django.db import connection

    from saas.factories import make_clients, make_manager, make_user
    from shared_apps.accounts.models import User
    from tenants.access import set_member_role
    from tenants.models import Workspace
    from tenants.services import create_workspace

    slug = f"{PREFIX}-dashboard"
    if Workspace.objects.filter(slug=slug).exists():  # a kept database (--reuse)
        manager = User.objects.get(email=f"{PREFIX}-manager@example.com")
        owner = User.objects.get(email=f"{PREFIX}-owner@example.com")
        return manager, owner, f"{slug}.{settings.BASE_DOMAIN}"
    manager = make_manager(email=f"{PREFIX}-manager@example.com")
    owner = make_user(f"{PREFIX}-owner@example.com")
    workspace = create_workspace(name="Dashboard", slug=slug)
    set_member_role(owner, workspace, "owner")
    connection.set_tenant(workspace)
    make_clients(*(f"client{n}@{slug}.example" for n in range(1000)))
    connection.set_schema_to_public()
    return manager, owner, f"{slug}.{settings.BASE_DOMAIN}"


def recipient_update(times: int = 20) -> list[float]:
    from django.db import connection, transaction

    from shared_apps.landing import counters

    def add_and_remove():
        email = f"{uuid.uuid4().hex[:12]}@recipients.example"
        with transaction.atomic():
            counters.recipients_added([email])
        with transaction.atomic():
            counters.recipients_removed([email])

    connection.set_schema_to_public()
    return repeated(add_and_remove, times)


def catalog_figures() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), pg_database_size(current_database()) FROM pg_class")
        return cursor.fetchone()


def free_disk_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        try:
            cursor.execute("SELECT current_setting('data_directory')")
            directory = cursor.fetchone()[0]
        except Exception:  # noqa: BLE001 - not a superuser: the root file system is the best guess
            directory = "/"
    return shutil.disk_usage(directory if os.path.exists(directory) else "/").free


# --- the run --------------------------------------------------------------------------------


def checkpoint(n: int, options, people_, per_workspace_bytes: float | None) -> float | None:
    from django.test import Client as Browser

    from shared_apps.landing.stats import refresh_all_stats
    from tenants.deploys import schemas_behind_template

    existing = workspace_count()
    if per_workspace_bytes:
        needed = (n - existing) * per_workspace_bytes
        free = free_disk_bytes()
        if needed > free / 2:
            line(n, "SKIPPED: projected growth", f"{needed / 2**30:.1f} GiB > half the free {free / 2**30:.1f} GiB")
            return None

    made, seconds = fill(n, options.workers)
    if made:
        rate = f"{made:,} in {seconds:,.1f} s ({made / seconds:.1f}/s, {options.workers} connections)"
        line(n, "filled workspaces (bulk clone)", rate)

    guarded(n, "migrate, nothing to do", lambda: ms(timed(migrate_quietly)))

    app, name = newest_migration()

    def apply_one():
        if n > options.apply_up_to:
            return f"not measured above --apply-up-to {options.apply_up_to:,}"
        taken = take_back_everywhere(app, name, backwards_sql(app, name), options.workers)
        behind, _checked = schemas_behind_template()
        seconds = timed(migrate_quietly)
        still, _checked = schemas_behind_template()
        return f"{ms(seconds)} for {len(behind):,} schemas ({taken:,} taken back; {len(still)} still behind)"

    guarded(n, f"migrate applying {app}.{name}", apply_one)
    line(n, "  path", apply_path())

    manager, owner, dashboard_host = people_
    console = Browser(HTTP_HOST=dashboard_host.split(".", 1)[1])
    console.force_login(manager)
    for path in ("/console/", "/console/mailings/", "/console/clients/", "/console/users/"):
        guarded(n, f"console {path}", lambda path=path: spread(page_timings(console, path)))
    guarded(n, "unique recipients: one email added + removed", lambda: spread(recipient_update(), "mean"))
    guarded(n, "unique recipients: periodic repair (all schemas)", lambda: ms(timed(refresh_all_stats)))
    dashboard = Browser(HTTP_HOST=dashboard_host)
    dashboard.force_login(owner)
    guarded(n, "a workspace's dashboard (1,000 clients)", lambda: spread(page_timings(dashboard, "/")))

    count = workspace_count()
    relations, size = catalog_figures()
    line(n, "pg_class rows", f"{relations:,} ({relations / count:,.0f} per workspace)")
    line(n, "database size", f"{size / 2**20:,.0f} MiB ({size / count / 2**10:,.0f} KiB per workspace)")

    pool, clone = creations(options.creations)
    line(n, "creation from the pool", spread(pool, "mean"))
    line(n, "creation by clone (pool empty)", spread(clone, "mean"))
    return size / count


def main():
    options = arguments()
    url, maintenance = bench_database_url()
    if not options.reuse:
        recreate_database(url, maintenance)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.WORKSPACE_POOL_SIZE = 0  # no refill queued after a creation: the bench fills the pool itself
    print(f"bench database {urlsplit(url).path.lstrip('/')}; checkpoints {options.sizes}", flush=True)
    try:
        print(f"setup: migrate {ms(timed(migrate_quietly))}", flush=True)
        people_ = people()
        per_workspace = None
        if options.fill_only:
            made, seconds = fill(options.sizes[-1], options.workers)
            print(f"filled {made:,} workspaces in {seconds:,.1f} s; now {workspace_count():,}", flush=True)
            return
        for n in options.sizes:
            per_workspace = checkpoint(n, options, people_, per_workspace)
            if per_workspace is None:
                break
    finally:
        connections.close_all()
        if not (options.keep or options.fill_only):
            recreate_database(url, maintenance, drop_only=True)


if __name__ == "__main__":
    main()

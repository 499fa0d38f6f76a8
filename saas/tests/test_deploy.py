"""The deploy/ files are valid as shipped."""

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="nginx -t cannot run here")
def test_nginx_config_passes_nginx_t(tmp_path):
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=rassylka.example.com",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx" / "rassylka.conf").read_text()
    site = site.replace("/etc/ssl/rassylka/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/ssl/rassylka/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/site.conf;\n}}\n"
    )

    result = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_systemd_units_run_the_web_server_and_the_consumer():
    web = (DEPLOY / "systemd" / "rassylka-web.service").read_text()
    huey = (DEPLOY / "systemd" / "rassylka-huey.service").read_text()

    assert "gunicorn -c deploy/gunicorn.conf.py saas.wsgi" in web
    assert "manage.py run_huey" in huey
    assert "EnvironmentFile=/etc/rassylka/env" in web and "EnvironmentFile=/etc/rassylka/env" in huey


def test_gunicorn_config_loads():
    namespace = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102

    assert namespace["bind"] == "127.0.0.1:8000"
    assert namespace["workers"] >= 1


def test_the_health_check_units_and_nginx_reach_healthz():
    service = (DEPLOY / "systemd" / "rassylka-health.service").read_text()
    timer = (DEPLOY / "systemd" / "rassylka-health.timer").read_text()
    nginx = (DEPLOY / "nginx" / "rassylka.conf").read_text()

    assert "bin/healthcheck http://127.0.0.1:8000/healthz" in service and "Type=oneshot" in service
    assert "OnUnitActiveSec=1min" in timer
    assert nginx.count("location = /healthz") == 2  # plain HTTP (balancers) and HTTPS


def test_bin_healthcheck_exits_0_when_healthy_and_1_when_not(live_site):
    import socket
    import subprocess
    import sys

    root = DEPLOY.parent
    healthy = subprocess.run(
        [sys.executable, str(root / "bin" / "healthcheck"), live_site.url("/healthz")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    unreachable = subprocess.run(
        [sys.executable, str(root / "bin" / "healthcheck"), f"http://127.0.0.1:{closed}/healthz"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert healthy.returncode == 0 and '"status": "ok"' in healthy.stdout
    assert unreachable.returncode == 1 and "no answer" in unreachable.stderr


def test_systemd_unit_runs_the_bounce_receiver():
    unit = (DEPLOY / "systemd" / "rassylka-bounces.service").read_text()
    assert "manage.py bounce_server" in unit and "EnvironmentFile=/etc/rassylka/env" in unit

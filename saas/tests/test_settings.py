"""Start-up in production mode: required variables and `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 64 + "-production-like-secret-for-the-check",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rassylka",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "HUEY_REDIS_URL": "redis://127.0.0.1:6379/2",
    "BASE_DOMAIN": "rassylka.example.com",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    "DEFAULT_FROM_EMAIL": "Rassylka <noreply@rassylka.example.com>",
    "SENDERS_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1saWtlLWZlcm5ldC1rZXktZm9yLXQ=",
}


def run_manage(args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and not k.startswith("DJANGO")}
    clean.update(env, DJANGO_SETTINGS_MODULE="saas.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "HUEY_REDIS_URL",
        "BASE_DOMAIN",
        "EMAIL_URL",
        "SENDERS_ENCRYPTION_KEYS",
    ],
)
def test_missing_required_setting_stops_start_up_naming_it(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = run_manage(["check"], env)

    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_collectstatic_with_production_storage_serves_bootstrap(tmp_path):
    """The manifest storage refuses a file that references a missing one (e.g. a source map)."""
    env = PRODUCTION_ENV | {"STATIC_ROOT": str(tmp_path)}

    result = run_manage(["collectstatic", "--noinput", "-v0"], env)

    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/bootstrap-5.3.8/bootstrap.min.css" in manifest
    assert "vendor/chartjs-4.5.1/chart.umd.min.js" in manifest
    assert "img/favicon.svg" in manifest

"""GET /healthz: 200 with the state of PostgreSQL, the cache and the queue; 503 when one is down."""

import copy
import socket

import pytest
from huey import RedisHuey

from conftest import host_client
from saas import health


@pytest.fixture
def closed_port():
    """A port on loopback where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_health(host="localhost", **extra):
    return host_client(host).get("/healthz", **extra)


def test_all_up_answers_200_with_each_components_state(db):
    response = get_health()

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "queue"}
    assert all(check["ok"] for check in body["checks"].values())
    assert isinstance(body["checks"]["queue"]["pending"], int)
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("host", ["acme.localhost", "10.0.0.7", "unknown.example.org"])
def test_it_answers_whatever_the_host_header_and_touches_no_workspace(db, host):
    response = get_health(host)

    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_it_answers_over_plain_http_even_where_https_is_enforced(db, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert get_health().status_code == 200
    assert host_client("localhost").get("/").status_code == 301  # everything else is redirected


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_database_down_answers_503_naming_it(db, settings, closed_port):
    databases = copy.deepcopy(settings.DATABASES)
    databases["default"]["HOST"], databases["default"]["PORT"] = "127.0.0.1", closed_port
    settings.DATABASES = databases

    response = get_health()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert body["checks"]["cache"]["ok"] and body["checks"]["queue"]["ok"]


def test_cache_down_answers_503_naming_it(db, settings, closed_port):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port}/0"
    settings.CACHES = caches

    response = get_health()

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["ok"] is False and checks["database"]["ok"] and checks["queue"]["ok"]


def test_queue_storage_down_answers_503_naming_it(db, monkeypatch, closed_port):
    unreachable = RedisHuey("rassylka-healthz-test", url=f"redis://127.0.0.1:{closed_port}/0")
    monkeypatch.setattr(health, "queue", lambda: unreachable)

    response = get_health()

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["queue"] == {"ok": False, "error": "ConnectionError", "ms": checks["queue"]["ms"]}
    assert checks["database"]["ok"] and checks["cache"]["ok"]


def test_error_texts_stay_in_the_log_not_in_the_answer(db, settings, closed_port, caplog):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port}/0"
    settings.CACHES = caches

    response = get_health()

    assert str(closed_port) not in response.content.decode()
    assert any("healthz: cache is down" in record.getMessage() for record in caplog.records)


def test_only_get_and_head_are_answered(db):
    assert host_client("localhost").post("/healthz").status_code == 405
    assert host_client("localhost").head("/healthz").status_code == 200

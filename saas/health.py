"""GET /healthz: is this instance able to serve? For load balancers, systemd and monitoring.

Answers 200 when PostgreSQL, the cache (Redis) and the queue's storage (huey's
Redis) all answer, 503 naming the one that does not. It runs as the first
middleware, so it answers on any Host header (a balancer probing by IP) and
over plain HTTP behind TLS redirects, and never touches a workspace. That is
safe: it reveals only up/down, timings and the queue length, never an error
text (those go to the log), and does nothing a visitor could abuse beyond one
`SELECT 1`, one cache round trip and one queue-length read.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.utils import load_backend
from django.http import HttpResponseNotAllowed, JsonResponse

logger = logging.getLogger(__name__)

PATHS = ("/healthz", "/healthz/")
DB_CONNECT_TIMEOUT = 3  # seconds; a probe must answer before the balancer gives up on it
CACHE_KEY = "rassylka:healthz"


def check_database() -> dict[str, Any]:
    """A fresh connection and `SELECT 1` (a new one, so a full connection table shows too)."""
    config = dict(settings.DATABASES["default"])
    config["OPTIONS"] = {**config.get("OPTIONS", {}), "connect_timeout": DB_CONNECT_TIMEOUT}
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias="healthz")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        wrapper.close()
    return {}


def check_cache() -> dict[str, Any]:
    """A write and a read through the configured cache (Redis in production)."""
    cache = caches["default"]
    token = str(time.monotonic_ns())
    cache.set(CACHE_KEY, token, timeout=10)
    if cache.get(CACHE_KEY) != token:
        raise RuntimeError("the cache did not return what was just written")
    return {}


def queue() -> Any:
    """The huey instance whose storage is checked (a function, so a test can point it elsewhere)."""
    from huey.contrib.djhuey import HUEY

    return HUEY


def check_queue() -> dict[str, Any]:
    """The queue's storage answers; the number of tasks waiting is worth watching too."""
    return {"pending": queue().pending_count()}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "cache": check_cache,
    "queue": check_queue,
}


def run_check(name: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        details = check()
    except Exception as error:  # noqa: BLE001 (any failure of the component means "down")
        logger.warning("healthz: %s is down: %r", name, error)
        return {"ok": False, "error": type(error).__name__, "ms": elapsed_ms(started)}
    return {"ok": True, **details, "ms": elapsed_ms(started)}


def elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def health_state() -> tuple[bool, dict[str, Any]]:
    checks = {name: run_check(name, check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in checks.values())
    return healthy, {"status": "ok" if healthy else "down", "checks": checks}


def healthz(request):
    """Anyone, any host: the state of PostgreSQL, the cache and the queue; 200 or 503."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    healthy, body = health_state()
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers /healthz before host routing, host validation and the HTTPS redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in PATHS:
            return healthz(request)
        return self.get_response(request)

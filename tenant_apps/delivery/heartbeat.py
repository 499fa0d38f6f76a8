"""A live worker's heartbeat: its claims are renewed from a thread of its own while it sends.

A claim not renewed for DELIVERY_CLAIM_TIMEOUT seconds is taken back by
other workers (its holder died). The sending thread can sit in one slow SMTP
exchange for longer than that, so the renewal runs beside it, every third of
the timeout: a live worker keeps what it holds however slow the server is,
and a dead worker's claims come back one timeout after its last beat.
"""

import logging
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

log = logging.getLogger(__name__)

# SKIP LOCKED: rows the worker is writing right now are skipped (their claim
# ends with that write), so the heartbeat never waits on its own worker.
RENEW_SQL = """
UPDATE delivery_delivery SET claimed_at = %(now)s
WHERE id IN (
    SELECT id FROM delivery_delivery
    WHERE run_id = %(run)s AND status = 'sending' AND claimed_by = %(me)s
    FOR UPDATE SKIP LOCKED
)
"""


def heartbeat_interval() -> float:
    return settings.DELIVERY_CLAIM_TIMEOUT / 3


def renew_claims(run_id: int, me: str) -> int:
    """Mark every claim `me` holds in the run as fresh; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(RENEW_SQL, {"now": timezone.now(), "run": run_id, "me": me})
        return cursor.rowcount


class ClaimHeartbeat:
    """`with ClaimHeartbeat(schema, run_id, me):` renews `me`'s claims until the block ends."""

    def __init__(self, schema_name: str, run_id: int, me: str, interval: float | None = None):
        self.schema_name, self.run_id, self.me = schema_name, run_id, me
        self.interval = interval or heartbeat_interval()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"claim-heartbeat-{run_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _beat(self):
        # This thread has its own database connection (Django's are per thread): close it at the end.
        try:
            while not self._stop.wait(self.interval):
                try:
                    with schema_context(self.schema_name):
                        renew_claims(self.run_id, self.me)
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                    log.exception("renewing the claims of %s on run %s failed", self.me, self.run_id)
        finally:
            connection.close()

"""A per-run journal of accepted messages, written after each send, before the next.

Deliveries are written to the database in batches, so a worker killed
mid-batch leaves messages that were sent but are still marked "sending".
Whoever takes those claims back looks them up here first and records them
as sent instead of sending them again: only the message in flight when the
worker died (accepted by the server, not yet journalled) can go out twice.

Redis when the cache is django-redis: each HSET is written to Redis's socket
before the next message goes out, and its reply is read later (`settle`), so
the journal costs no round trip per message. A write that reaches the
kernel's socket buffer is delivered even if this process is killed right
after. Any other cache backend works too, one key per message.
"""

import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)
TTL = 7 * 24 * 3600


def _redis():
    backend = settings.CACHES["default"]["BACKEND"]
    if backend != "django_redis.cache.RedisCache":
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def resp_command(*parts):
    """A Redis command in the wire protocol (what redis-py's packer builds, without its overhead)."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


class SentJournal:
    def __init__(self, schema_name, run_id):
        self.key = f"rassylka:delivery:journal:{schema_name}:{run_id}"
        self._key_bytes = self.key.encode()
        self.redis = _redis()
        self._conn = None
        self._unread = 0

    def record(self, delivery_id, at, code, response):
        """Journal an accepted message; False when the journal is unreachable (write the DB now instead)."""
        value = f"{at.timestamp()}|{code or ''}|{response}"
        try:
            if self.redis is None:
                cache.set(f"{self.key}:{delivery_id}", value, timeout=TTL)
                return True
            if self._conn is None:
                self._conn = self.redis.connection_pool.get_connection()
            self._conn.send_packed_command(
                [resp_command(b"HSET", self._key_bytes, b"%d" % delivery_id, value.encode())]
            )
            self._unread += 1
            return True
        except Exception:  # noqa: BLE001 - the caller falls back to writing the database at once
            log.exception("sent-journal write failed")
            self._drop_connection()
            return False

    def settle(self):
        """Read the replies of the journal writes sent so far."""
        if self._conn is None:
            return
        try:
            for _ in range(self._unread):
                self._conn.read_response()
        except Exception:  # noqa: BLE001
            log.exception("sent-journal replies could not be read")
            self._drop_connection()
            return
        self._unread = 0
        self.redis.connection_pool.release(self._conn)
        self._conn = None

    def _drop_connection(self):
        if self._conn is not None:
            self._conn.disconnect()
            self.redis.connection_pool.release(self._conn)
        self._conn, self._unread = None, 0

    def lookup(self, delivery_ids):
        """{delivery_id: (timestamp, code or None, response)} for those journalled."""
        if not delivery_ids:
            return {}
        if self.redis is not None:
            values = dict(zip(delivery_ids, self.redis.hmget(self.key, delivery_ids), strict=True))
        else:
            found = cache.get_many([f"{self.key}:{i}" for i in delivery_ids])
            values = {i: found.get(f"{self.key}:{i}") for i in delivery_ids}
        result = {}
        for delivery_id, value in values.items():
            if value is None:
                continue
            if isinstance(value, bytes):
                value = value.decode()
            stamp, code, response = value.split("|", 2)
            result[delivery_id] = (float(stamp), int(code) if code else None, response)
        return result

    def forget(self, delivery_ids):
        """Drop entries once the database has the result."""
        self.settle()
        if not delivery_ids:
            return
        if self.redis is not None:
            self.redis.hdel(self.key, *delivery_ids)
            self.redis.expire(self.key, TTL)
        else:
            cache.delete_many([f"{self.key}:{i}" for i in delivery_ids])

    def drop(self):
        if self.redis is not None:
            self.redis.delete(self.key)

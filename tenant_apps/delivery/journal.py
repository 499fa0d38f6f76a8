"""A per-run journal of accepted messages, written after each send, before the next.

Deliveries are written to the database in batches, so a worker killed
mid-batch leaves messages that were sent but are still marked "sending".
Whoever takes those claims back looks them up here first and records them
as sent instead of sending them again: only the message in flight when the
worker died (accepted by the server, not yet journalled) can go out twice.

Redis (one HSET per message) when the cache is django-redis; any other cache
backend works too, one key per message.
"""

from django.conf import settings
from django.core.cache import cache

TTL = 7 * 24 * 3600


def _redis():
    backend = settings.CACHES["default"]["BACKEND"]
    if backend != "django_redis.cache.RedisCache":
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


class SentJournal:
    def __init__(self, schema_name, run_id):
        self.key = f"rassylka:delivery:journal:{schema_name}:{run_id}"
        self.redis = _redis()

    def record(self, delivery_id, at, code, response):
        value = f"{at.timestamp()}|{code or ''}|{response}"
        if self.redis is not None:
            self.redis.hset(self.key, delivery_id, value)
        else:
            cache.set(f"{self.key}:{delivery_id}", value, timeout=TTL)

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

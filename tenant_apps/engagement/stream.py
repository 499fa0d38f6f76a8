"""The Redis side of tracking: the hit stream and the link table cache.

Endpoints append hits to one stream (TRACKING_STREAM) and read link
addresses from one hash per workspace; the drain reads the stream through a
consumer group. Redis is TRACKING_REDIS_URL (the queue's Redis by default:
give it persistence, README §Production; a Redis that loses its data loses
only the hits not yet drained, the links are in PostgreSQL too).
"""

import redis
from django.conf import settings

_clients: dict[tuple[str, float], redis.Redis] = {}
# The drain moves tens of thousands of entries per command: it may wait longer than a page.
DRAIN_TIMEOUT = 60.0


def client(timeout: float | None = None) -> redis.Redis:
    """One client (a thread-safe connection pool) per process, URL and timeout.

    The endpoints use TRACKING_REDIS_TIMEOUT (short: a pixel never waits long on Redis).
    """
    key = (settings.TRACKING_REDIS_URL, timeout or settings.TRACKING_REDIS_TIMEOUT)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(key[0], socket_timeout=key[1], socket_connect_timeout=key[1])
    return _clients[key]


FIELDS = ("w", "k", "d", "l", "n", "a", "m")  # slug, o|c, delivery, link, network, agent family, machine reason


def pack(slug: str, kind: str, delivery_id: int, link: int, network: str, agent: str, reason: str) -> str:
    # None of these can hold a tab: slugs, numbers, networks, family names and reasons are ours.
    return f"{slug}\t{kind}\t{delivery_id}\t{link}\t{network}\t{agent}\t{reason}"


def unpack(value: bytes) -> dict[str, str]:
    return dict(zip(FIELDS, value.decode().split("\t"), strict=True))


def stream_key() -> str:
    return settings.TRACKING_STREAM


def links_key(slug: str) -> str:
    return f"{settings.TRACKING_STREAM}:links:{slug}"


def publish_links(slug: str, links: dict[int, str]) -> None:
    """Make a run's link addresses readable by the click endpoint (idempotent)."""
    if links:
        client().hset(links_key(slug), mapping={str(number): url for number, url in links.items()})

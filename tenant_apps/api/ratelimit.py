"""Per-key request rate limit: a token bucket in Redis (one Lua call per request).

The bucket holds up to API_RATE_BURST requests and refills at
API_RATE_PER_SECOND; every answer carries RateLimit-* headers
(draft-ietf-httpapi-ratelimit-headers), a refused one also Retry-After.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

# KEYS[1] bucket; ARGV: rate/s, burst, now (s). Returns {allowed, tokens left ×1000}.
TAKE_SCRIPT = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, math.floor(tokens * 1000)}
"""


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        rate = settings.API_RATE_PER_SECOND
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={max(1, math.ceil(self.limit / rate))}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


_script = None


def _take(bucket: str, rate: float, burst: int) -> tuple[bool, float]:
    global _script
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    if _script is None:
        _script = redis.register_script(TAKE_SCRIPT)
    allowed, tokens = _script(keys=[bucket], args=[rate, burst, time.time()], client=redis)
    return bool(allowed), tokens / 1000


def take(key_id: int) -> Verdict:
    """Count one request of a key of the current workspace."""
    rate, burst = settings.API_RATE_PER_SECOND, settings.API_RATE_BURST
    allowed, tokens = _take(f"rassylka:api:rate:{connection.schema_name}:{key_id}", rate, burst)
    return Verdict(
        allowed=allowed,
        limit=burst,
        remaining=int(tokens),
        reset=math.ceil((burst - tokens) / rate),
        retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / rate)),
    )

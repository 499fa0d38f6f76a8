"""Per-provider rate limits: a token bucket in Redis shared by every consumer on every machine.

One Lua script call per batch claim (not per message) takes up to `n`
tokens from both buckets of a provider (messages per second, per hour) and
says how many were granted and, when none, how long to wait. The script also
keeps the provider's *slow-down factor*: a throttling answer (421, 450/451/452
mentioning a rate, 454) halves it and pauses the provider for 1/factor
seconds (2, 4, 8 … up to 60); it grows back to 1 over a minute without
throttling. The effective rate is the configured rate × the factor, so a
provider that says "slow down" is sent to more slowly by everyone at once.

Without Redis (the development file cache) the same arithmetic runs in
process memory: the limit then holds per process only.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

RECOVERY_SECONDS = 60.0  # factor grows from 0 back to 1 over this long without throttling
MIN_FACTOR = 1 / 64
MAX_PAUSE = 60.0

# KEYS[1]: the provider's hash. ARGV: n, per second, per hour, throttled (0/1), recovery s, min factor, max pause.
# Returns {granted, wait in ms, factor × 1e6}.
TAKE_LUA = """
local key = KEYS[1]
local n = tonumber(ARGV[1])
local rps = tonumber(ARGV[2])
local rph = tonumber(ARGV[3])
local throttled = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local h = redis.call('HMGET', key, 'st', 'sts', 'ht', 'hts', 'f', 'fts', 'pause')
local factor = tonumber(h[5]) or 1
local fts = tonumber(h[6]) or now
local pause = tonumber(h[7]) or 0
factor = math.min(1, factor + (now - fts) / tonumber(ARGV[5]))
if throttled then
  factor = math.max(factor / 2, tonumber(ARGV[6]))
  pause = now + math.min(1 / factor, tonumber(ARGV[7]))
end
local granted = n
local wait = 0
if now < pause then
  granted = 0
  wait = pause - now
end
local st, ht = 0, 0
if rps > 0 then
  local rate = rps * factor
  local cap = math.max(rate, 1)
  st = math.min(cap, (tonumber(h[1]) or cap) + (now - (tonumber(h[2]) or now)) * rate)
  if math.floor(st) < granted then granted = math.floor(st) end
  if granted <= 0 and wait == 0 then wait = (1 - st) / rate end
end
if rph > 0 then
  local rate = rph / 3600 * factor
  local cap = math.max(rate * 60, 1)
  ht = math.min(cap, (tonumber(h[3]) or cap) + (now - (tonumber(h[4]) or now)) * rate)
  if math.floor(ht) < granted then granted = math.floor(ht) end
  if granted <= 0 then wait = math.max(wait, (1 - ht) / rate) end
end
if granted < 0 then granted = 0 end
redis.call('HSET', key, 'st', st - granted, 'sts', now, 'ht', ht - granted, 'hts', now,
           'f', factor, 'fts', now, 'pause', pause)
redis.call('EXPIRE', key, 7200)
return {granted, math.ceil(wait * 1000), math.floor(factor * 1e6)}
"""

# Give back tokens taken for a batch that turned out smaller (the claim found fewer deliveries).
REFUND_LUA = """
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'st', n)
  redis.call('HINCRBYFLOAT', KEYS[1], 'ht', n)
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    wait: float  # seconds until a token is there, when granted == 0
    factor: float


def is_throttling(code: int | None, text: str) -> bool:
    """A provider's "slow down": 421 (service not available now), 454, or 450/451/452 that mention a rate."""
    if code in (421, 454):
        return True
    return code in (450, 451, 452) and "rate" in (text or "").lower()


def _redis():
    if settings.CACHES["default"]["BACKEND"] != "django_redis.cache.RedisCache":
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


class TokenBucket:
    """The rate limiter of one provider (identified by its key: "platform" or "<schema>:<id>")."""

    _local_state: dict = {}
    _local_lock = threading.Lock()

    def __init__(self, provider_key: str, per_second: float, per_hour: int):
        self.key = f"rassylka:senders:bucket:{provider_key}"
        self.per_second = float(per_second or 0)
        self.per_hour = int(per_hour or 0)
        self.redis = _redis()
        if self.redis is not None:
            self._take = self.redis.register_script(TAKE_LUA)
            self._refund = self.redis.register_script(REFUND_LUA)

    def take(self, n: int, *, throttled: bool = False) -> Grant:
        """Up to n tokens now (one round trip); `throttled` first records a throttling answer."""
        args = [n, self.per_second, self.per_hour, int(throttled), RECOVERY_SECONDS, MIN_FACTOR, MAX_PAUSE]
        if self.redis is None:
            return self._take_locally(*args)
        granted, wait_ms, factor = self._take(keys=[self.key], args=args)
        return Grant(int(granted), int(wait_ms) / 1000, int(factor) / 1e6)

    def throttled(self) -> Grant:
        """Record a throttling answer (slows every consumer of this provider)."""
        return self.take(0, throttled=True)

    def refund(self, n: int) -> None:
        if n <= 0:
            return
        if self.redis is None:
            with self._local_lock:
                state = self._local_state.get(self.key)
                if state:
                    state["st"] += n
                    state["ht"] += n
            return
        self._refund(keys=[self.key], args=[n])

    def _take_locally(self, n, rps, rph, throttled, recovery, min_factor, max_pause):
        """The Lua script's arithmetic, for a cache without Redis (per process)."""
        with self._local_lock:
            now = time.time()
            h = self._local_state.setdefault(self.key, {})
            factor = min(1.0, h.get("f", 1.0) + (now - h.get("fts", now)) / recovery)
            pause = h.get("pause", 0.0)
            if throttled:
                factor = max(factor / 2, min_factor)
                pause = now + min(1 / factor, max_pause)
            granted, wait = n, 0.0
            if now < pause:
                granted, wait = 0, pause - now
            st = ht = 0.0
            if rps > 0:
                rate = rps * factor
                cap = max(rate, 1)
                st = min(cap, h.get("st", cap) + (now - h.get("sts", now)) * rate)
                granted = min(granted, int(st))
                if granted <= 0 and not wait:
                    wait = (1 - st) / rate
            if rph > 0:
                rate = rph / 3600 * factor
                cap = max(rate * 60, 1)
                ht = min(cap, h.get("ht", cap) + (now - h.get("hts", now)) * rate)
                granted = min(granted, int(ht))
                if granted <= 0:
                    wait = max(wait, (1 - ht) / rate)
            granted = max(granted, 0)
            h.update(st=st - granted, sts=now, ht=ht - granted, hts=now, f=factor, fts=now, pause=pause)
            return Grant(granted, wait, factor)

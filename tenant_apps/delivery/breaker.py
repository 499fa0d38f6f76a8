"""A circuit breaker per workspace, its state in the cache (Redis), shared by every worker.

closed: sending goes on; temporary failures in a row are counted.
open: `threshold` failures in a row stop all sending of the workspace until
`open_until`; no delivery burns a retry meanwhile.
half-open: after the pause one worker (whoever adds the probe key first)
sends a single message. Success closes the breaker; failure opens it again
for twice the pause (up to the maximum).
"""

import time

from django.core.cache import cache

FAILURE_WINDOW = 3600  # failures further apart than this are not "in a row"


class Permit:
    __slots__ = ("allowed", "probe", "wait")

    def __init__(self, allowed, probe=False, wait=0.0):
        self.allowed, self.probe, self.wait = allowed, probe, wait


class CircuitBreaker:
    def __init__(self, name, *, threshold, cooldown, max_cooldown, clock=time.time):
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.clock = clock
        prefix = f"delivery:breaker:{name}"
        self.k_failures = f"{prefix}:failures"
        self.k_open_until = f"{prefix}:open_until"
        self.k_cooldown = f"{prefix}:cooldown"
        self.k_probe = f"{prefix}:probe"

    def state(self):
        open_until = cache.get(self.k_open_until)
        if open_until is None:
            return "closed"
        return "open" if self.clock() < open_until else "half-open"

    def permit(self):
        """May this worker send now? A probe permit allows a single message."""
        open_until = cache.get(self.k_open_until)
        if open_until is None:
            return Permit(True)
        now = self.clock()
        if now < open_until:
            return Permit(False, wait=open_until - now)
        if cache.add(self.k_probe, 1, timeout=max(int(self.base_cooldown) + 60, 60)):
            return Permit(True, probe=True)
        return Permit(False, wait=min(self.base_cooldown, 5.0))  # another worker is probing

    def record_failure(self, probe=False):
        """Count a temporary failure; returns True when the breaker is (now) open."""
        if probe:
            self._trip(escalate=True)
            return True
        try:
            failures = cache.incr(self.k_failures)
        except ValueError:
            cache.set(self.k_failures, 1, timeout=FAILURE_WINDOW)
            failures = 1
        if failures >= self.threshold:
            self._trip(escalate=False)
            return True
        return cache.get(self.k_open_until) is not None  # another worker opened it meanwhile

    def record_success(self):
        cache.delete_many([self.k_failures, self.k_open_until, self.k_cooldown, self.k_probe])

    def release_probe(self):
        cache.delete(self.k_probe)

    def _trip(self, escalate):
        cooldown = cache.get(self.k_cooldown) or self.base_cooldown
        if escalate:
            cooldown = min(cooldown * 2, self.max_cooldown)
        cache.set_many(
            {self.k_open_until: self.clock() + cooldown, self.k_cooldown: cooldown},
            timeout=int(cooldown + self.max_cooldown + FAILURE_WINDOW),
        )
        cache.delete_many([self.k_failures, self.k_probe])

"""The per-provider token bucket in Redis: shared between processes, slowed by throttling answers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenant_apps.senders.ratelimit import TokenBucket, is_throttling

ROOT = Path(__file__).resolve().parents[3]

# A consumer process: from `start`, claim batches of 10 as fast as the bucket allows; count what it was
# granted inside the measuring window [start + warmup, start + warmup + window).
CONSUMER = """
import os, sys, time, django
django.setup()
from tenant_apps.senders.ratelimit import TokenBucket
key = sys.argv[1]
rate, warmup, window = (float(a) for a in sys.argv[2:5])
bucket = TokenBucket(key, rate, 0)
print("ready", flush=True)
start = float(sys.stdin.readline())  # the same start for both, given once both are up
time.sleep(max(start - time.time(), 0))
counted, end = 0, start + warmup + window
while time.time() < end:
    grant = bucket.take(10)
    if start + warmup <= time.time() < end:
        counted += grant.granted
    if not grant.granted:
        time.sleep(min(grant.wait, 0.05))
print(counted, flush=True)
"""


def test_bucket_holds_the_rate_across_two_consumer_processes():
    rate, warmup, window = 200.0, 1.0, 4.0
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "saas.settings_test"}
    args = [sys.executable, "-c", CONSUMER, "two-procs", str(rate), str(warmup), str(window)]
    procs = [
        subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    start = time.time() + 0.5
    for proc in procs:
        proc.stdin.write(f"{start}\n")
        proc.stdin.flush()
    counts = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    per_second = sum(counts) / window
    assert all(counts), counts  # both consumers got a share
    assert abs(per_second - rate) <= 0.1 * rate, (counts, per_second)


def test_bucket_grants_at_most_its_burst_at_once():
    bucket = TokenBucket("burst", 50, 0)
    assert bucket.take(500).granted == 50
    grant = bucket.take(500)
    assert grant.granted == 0 and 0 < grant.wait <= 0.05


def test_hourly_limit_caps_a_provider_without_a_per_second_limit():
    bucket = TokenBucket("hourly", 0, 3600)  # one a second, a minute's worth at once
    assert bucket.take(500).granted == 60
    assert bucket.take(500).granted == 0


def test_unlimited_provider_grants_whole_batches():
    assert TokenBucket("free", 0, 0).take(500).granted == 500


def test_throttling_pauses_the_provider_for_every_consumer_and_halves_its_rate():
    first, second = TokenBucket("slow", 100, 0), TokenBucket("slow", 100, 0)
    grant = first.throttled()
    assert grant.factor == pytest.approx(0.5, abs=0.01)
    refused = second.take(10)  # another consumer of the same provider is paused too
    assert refused.granted == 0 and 1.5 < refused.wait <= 2.0


def test_refund_gives_unused_tokens_back():
    bucket = TokenBucket("refund", 10, 0)
    assert bucket.take(10).granted == 10
    bucket.refund(4)
    assert bucket.take(10).granted == 4


def test_a_throttled_provider_does_not_slow_another_provider():
    TokenBucket("a", 100, 0).throttled()
    assert TokenBucket("b", 100, 0).take(10).granted == 10


@pytest.mark.parametrize(
    ("code", "text", "throttling"),
    [
        (421, "4.7.0 Try again later", True),
        (454, "4.7.0 Temporary authentication failure", True),
        (451, "4.7.1 Rate limit exceeded, slow down", True),
        (450, "4.2.1 Too many messages: rate limited", True),
        (452, "4.5.3 Too many recipients", False),
        (450, "4.2.0 Mailbox busy", False),
        (550, "5.7.1 rate limited", False),
        (None, "timeout", False),
    ],
)
def test_throttling_answers_are_recognised(code, text, throttling):
    assert is_throttling(code, text) is throttling

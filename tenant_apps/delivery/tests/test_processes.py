"""Real consumer processes (`manage.py start_sched`) on committed data: sharing a run, SIGKILL, exit codes.

The data lives in a workspace created (and committed) for the test and
dropped after it, because the child processes cannot see the test's
rolled-back transaction.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

ROOT = Path(__file__).resolve().parents[3]


def child_env(port, **overrides):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DELIVERY_EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "DELIVERY_BATCH_SIZE": "10",
        "DELIVERY_SMTP_TIMEOUT": "5",
    }
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def start_sched(*args, env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "start_sched", "--no-progress", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def committed_workspace(django_db_blocker):
    """A workspace with `make(n)` → a due mailing to n clients, all committed; dropped afterwards."""
    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message
    from tenants.services import create_workspace

    with django_db_blocker.unblock():
        slug = f"eng-{uuid.uuid4().hex[:8]}"
        workspace = create_workspace(name=slug, slug=slug)

        def make(clients):
            with schema_context(workspace.schema_name):
                Client.objects.bulk_create(Client(email=f"p{i}@example.com") for i in range(clients))
                message = Message.objects.create(subject="Hi", body_text="Hello {{ email }}")
                now = timezone.now()
                # bulk_create: no post_save, so this process does not start sending itself
                (mailing,) = Mailing.objects.bulk_create(
                    [Mailing(name="P", message=message, start_at=now, end_at=now + dt.timedelta(days=1))]
                )
                return mailing

        workspace.make = make
        yield workspace
        connection.set_schema_to_public()
        workspace.delete(force_drop=True)


def delivery_log(django_db_blocker, workspace):
    from tenant_apps.delivery.models import Attempt, Delivery

    with django_db_blocker.unblock(), schema_context(workspace.schema_name):
        statuses = Counter(Delivery.objects.values_list("status", flat=True))
        successes = Counter(Attempt.objects.filter(status="success").values_list("delivery__email", flat=True))
    return statuses, successes


def counters_match_the_log(django_db_blocker, workspace):
    """The report counters the workers kept equal a COUNT over what they logged."""
    from .test_counters import counted_from_the_log, kept_by_the_counters

    with django_db_blocker.unblock(), schema_context(workspace.schema_name):
        return kept_by_the_counters() == counted_from_the_log()


def test_two_consumer_processes_share_one_run_without_duplicates(committed_workspace, smtp_server, django_db_blocker):
    with django_db_blocker.unblock():
        mailing = committed_workspace.make(200)
    smtp_server.delay = 0.01  # ~100 messages/s, so both consumers are at work together
    env = child_env(smtp_server.port)
    args = ("--tenant", committed_workspace.slug, "--mailing", str(mailing.pk))

    consumers = [start_sched(*args, env=env) for _ in range(2)]
    outputs = [consumer.communicate(timeout=120) for consumer in consumers]

    assert [consumer.returncode for consumer in consumers] == [0, 0], outputs
    received = Counter(smtp_server.recipients)
    assert set(received) == {f"p{i}@example.com" for i in range(200)}
    assert max(received.values()) == 1, "nobody got it twice"
    per_connection = Counter(session for _rcpt, _msg, session in smtp_server.messages)
    assert len(per_connection) == 2 and min(per_connection.values()) > 0, "both consumers sent a share"
    sent_totals = [int(out.split("sent: ")[1].split(",")[0]) for out, _err in outputs]
    assert sum(sent_totals) == 200
    statuses, successes = delivery_log(django_db_blocker, committed_workspace)
    assert statuses == {"sent": 200} and set(successes.values()) == {1}
    assert counters_match_the_log(django_db_blocker, committed_workspace)


def test_a_consumer_killed_mid_run_loses_nothing_and_duplicates_at_most_one_message(
    committed_workspace, smtp_server, django_db_blocker
):
    with django_db_blocker.unblock():
        mailing = committed_workspace.make(150)
    smtp_server.delay = 0.01
    env = child_env(smtp_server.port, DELIVERY_CLAIM_TIMEOUT=2, DELIVERY_FLUSH_SECONDS=60)
    args = ("--tenant", committed_workspace.slug, "--mailing", str(mailing.pk))

    victim = start_sched(*args, env=env)
    deadline = time.monotonic() + 60
    while len(smtp_server.recipients) < 45 and time.monotonic() < deadline:  # mid-batch (batches of 10)
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    received_before = len(smtp_server.recipients)
    assert 45 <= received_before < 150, "killed mid-run"

    survivor = start_sched(*args, "--max-wait", "60", env=env)
    out, err = survivor.communicate(timeout=120)

    assert survivor.returncode == 0, err
    received = Counter(smtp_server.recipients)
    assert set(received) == {f"p{i}@example.com" for i in range(150)}, "nobody was lost"
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= 1, f"at most the message in flight is sent twice, got {duplicates}"
    statuses, successes = delivery_log(django_db_blocker, committed_workspace)
    assert statuses == {"sent": 150}
    assert len(successes) == 150 and set(successes.values()) == {1}, "one successful delivery each"
    assert counters_match_the_log(django_db_blocker, committed_workspace)


def test_start_sched_exits_non_zero_for_an_unknown_workspace_or_mailing(workspace, smtp_server):
    env = child_env(smtp_server.port)
    unknown_workspace = start_sched("--tenant", "no-such-workspace", env=env)
    out, err = unknown_workspace.communicate(timeout=60)
    assert unknown_workspace.returncode != 0
    assert "No workspace with the address 'no-such-workspace'" in err

    unknown_mailing = start_sched("--tenant", workspace.slug, "--mailing", "987654", env=env)
    out, err = unknown_mailing.communicate(timeout=60)
    assert unknown_mailing.returncode != 0
    assert f"No mailing 987654 in the workspace '{workspace.slug}'" in err


def test_a_real_huey_consumer_sends_a_queued_mailing(committed_workspace, smtp_server, django_db_blocker):
    from huey.contrib.djhuey import HUEY

    from tenant_apps.delivery.tasks import run_due_mailing

    with django_db_blocker.unblock():
        mailing = committed_workspace.make(20)
    HUEY.flush()  # nothing left over from other tests
    HUEY.immediate = False
    try:
        run_due_mailing(committed_workspace.schema_name, mailing.pk)  # what the tick or a save enqueues
    finally:
        HUEY.immediate = True
    consumer = subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "2", "--quiet"],
        cwd=ROOT,
        # the project's own settings (the test settings run huey in immediate mode, which a consumer refuses)
        env=child_env(smtp_server.port, DJANGO_SETTINGS_MODULE="saas.settings", DEBUG=1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(smtp_server.recipients) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        consumer.send_signal(signal.SIGINT)
        _out, err = consumer.communicate(timeout=30)
        HUEY.flush()

    assert sorted(smtp_server.recipients) == sorted(f"p{i}@example.com" for i in range(20)), err[-2000:]
    statuses, successes = delivery_log(django_db_blocker, committed_workspace)
    assert statuses == {"sent": 20} and set(successes.values()) == {1}


def test_a_slow_live_worker_keeps_its_claims_so_nobody_sends_its_messages_twice(
    django_db_setup, committed_workspace, smtp_server, django_db_blocker
):
    from tenant_apps.delivery.models import Delivery

    with django_db_blocker.unblock():
        mailing = committed_workspace.make(3)
    smtp_server.delay = 1.5  # each message takes longer than a claim lives without renewal
    env = child_env(smtp_server.port, DELIVERY_CLAIM_TIMEOUT=1)
    args = ("--tenant", committed_workspace.slug, "--mailing", str(mailing.pk))

    slow = start_sched(*args, env=env)
    deadline = time.monotonic() + 60
    claimed = False
    while not claimed and time.monotonic() < deadline:
        time.sleep(0.05)
        with django_db_blocker.unblock(), schema_context(committed_workspace.schema_name):
            claimed = Delivery.objects.filter(status="sending").exists()
    assert claimed, "the first worker claimed its batch"
    time.sleep(1.5)  # past the claim timeout, while the first worker is still at its first messages
    other = start_sched(*args, env=env)
    outputs = [worker.communicate(timeout=120) for worker in (slow, other)]

    assert [slow.returncode, other.returncode] == [0, 0], outputs
    assert Counter(smtp_server.recipients) == {f"p{i}@example.com": 1 for i in range(3)}
    statuses, successes = delivery_log(django_db_blocker, committed_workspace)
    assert statuses == {"sent": 3} and set(successes.values()) == {1}

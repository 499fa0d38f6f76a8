"""The engine with sending identities: DKIM-signed mail, own providers, per-provider breakers and rates,
throttling answers, the monthly quota and fair sharing between workspaces — against real SMTP servers."""

import datetime as dt
from collections import Counter

import dkim as dkimpy
import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Attempt, Delivery, Run
from tenant_apps.senders import consumer, fairness
from tenant_apps.senders import services as senders
from tenant_apps.senders.dnscheck import dkimpy_dnsfunc
from tenant_apps.senders.models import SmtpProvider
from tenant_apps.senders.ratelimit import TokenBucket

from .conftest import free_port

pytestmark = pytest.mark.django_db


class RawRecorder:
    """aiosmtpd handler keeping each message's bytes exactly as received (a signature must survive)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos[0], envelope.original_content))
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def raw_server():
    recorder = RawRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


def start_run(mailing, workspace):
    [run] = services.prepare_due_runs(mailing, workspace=workspace)
    return run


def statuses(run):
    return Counter(Delivery.objects.filter(run=run).values_list("status", flat=True))


def verified_domain(zone, name="acme.example"):
    domain = senders.add_domain(name)
    for record in senders.dns_records(domain):
        zone.publish(record.name, record.value)
    return senders.verify_domain(domain)


def test_mail_from_a_verified_domain_is_dkim_signed_and_verifies_against_dns(
    in_workspace, engine_settings, raw_server, dns_zone, make_mailing
):
    engine_settings(raw_server.port)
    verified_domain(dns_zone)
    mailing = make_mailing(3, from_email="Acme News <news@acme.example>")
    engine.process_run(start_run(mailing, in_workspace), in_workspace)
    assert len(raw_server.messages) == 3
    for envelope_from, _rcpt, data in raw_server.messages:
        # The envelope sender is the platform's VERP return path (bounces come back to us); DKIM's d= aligns.
        assert envelope_from.startswith("bounces+") and envelope_from.endswith("@bounces.localhost")
        assert data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=acme.example;")
        assert dkimpy.verify(data, dnsfunc=dkimpy_dnsfunc)


def test_mail_from_the_platform_domain_is_not_signed(in_workspace, engine_settings, raw_server, make_mailing):
    engine_settings(raw_server.port)
    engine.process_run(start_run(make_mailing(2), in_workspace), in_workspace)
    assert [data.startswith(b"DKIM-Signature") for _f, _r, data in raw_server.messages] == [False, False]


def test_domain_provider_is_used_for_its_mail_and_the_workspace_provider_for_the_rest(
    in_workspace, engine_settings, raw_server, smtp_server, dns_zone, make_mailing
):
    engine_settings(free_port()).DELIVERY_FROM_EMAIL = "noreply@rassylka.test"  # the relay is down: nothing goes there
    domain = verified_domain(dns_zone)
    domain.provider = SmtpProvider.objects.create(
        name="Domain's", host="127.0.0.1", port=raw_server.port, security="none"
    )
    domain.save()
    SmtpProvider.objects.create(
        name="Workspace's", host="127.0.0.1", port=smtp_server.port, security="none", is_workspace_default=True
    )
    signed = make_mailing(2, from_email="news@acme.example")
    engine.process_run(start_run(signed, in_workspace), in_workspace)
    plain = make_mailing(1)  # to all 3 clients, from the platform's address
    engine.process_run(start_run(plain, in_workspace), in_workspace)
    assert len(raw_server.messages) == 2 and len(smtp_server.recipients) == 3
    assert len(smtp_server.sessions) == 1, "one reused connection per provider"


def test_breakers_are_independent_per_provider(
    in_workspace, other_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)  # globex sends through the healthy platform relay
    SmtpProvider.objects.create(
        name="Broken", host="127.0.0.1", port=free_port(), security="none", is_workspace_default=True
    )
    broken = start_run(make_mailing(10), in_workspace)
    progress = engine.process_run(broken, in_workspace)
    assert progress.state == "waiting"
    assert engine.breaker_for(f"{connection.schema_name}:{SmtpProvider.objects.get().pk}").state() == "open"

    with schema_context(other_workspace.schema_name):
        from tenant_apps.audience.models import Client
        from tenant_apps.campaigns.models import Mailing, Message

        Client.objects.bulk_create(Client(email=f"g{i}@example.com") for i in range(4))
        now = timezone.now()
        mailing = Mailing.objects.create(
            name="Globex news",
            message=Message.objects.create(subject="Hi", body_text="Hello"),
            start_at=now - dt.timedelta(minutes=1),
            end_at=now + dt.timedelta(days=1),
        )
        run = start_run(mailing, other_workspace)
        assert engine.process_run(run, other_workspace).state == "done"
        assert statuses(run) == {"sent": 4}
    assert engine.breaker_for("platform").state() == "closed"


def test_throttling_answers_slow_the_provider_without_failing_deliveries(
    in_workspace, engine_settings, smtp_sink, make_mailing, settings
):
    port = free_port()
    engine_settings(port)
    sink = smtp_sink("-Q", "DATA", port=port)  # 421 at DATA, then the server hangs up
    run = start_run(make_mailing(6), in_workspace)
    # The first message is answered 421; the provider is then paused for longer than this call may wait.
    progress = engine.process_run(run, in_workspace, budget=1)

    assert progress.state == "waiting" and progress.wake_at > timezone.now()
    assert statuses(run) == {"pending": 6}
    assert not Delivery.objects.filter(run=run, attempt_count__gt=0).exists()
    assert not Attempt.objects.filter(delivery__run=run).exists(), "a throttled message is not a failed attempt"
    assert engine.breaker_for("platform").state() == "closed", "throttling is not a provider fault"
    refused = TokenBucket("platform", 0, 0).take(10)
    assert refused.granted == 0 and refused.factor == pytest.approx(0.5, abs=0.01)

    sink.stop()
    smtp_sink(port=port)
    TokenBucket("platform", 0, 0).redis.hset("rassylka:senders:bucket:platform", "pause", 0)  # skip the pause
    assert engine.process_run(run, in_workspace).state == "done"
    assert statuses(run) == {"sent": 6}


def test_provider_rate_limit_spreads_a_run_over_time(in_workspace, engine_settings, smtp_server, make_mailing):
    engine_settings(smtp_server.port)
    SmtpProvider.objects.create(
        name="Slow",
        host="127.0.0.1",
        port=smtp_server.port,
        security="none",
        rate_per_second=2,
        is_workspace_default=True,
    )
    run = start_run(make_mailing(5), in_workspace)
    progress = engine.process_run(run, in_workspace, batches=1)  # one batch: the bucket allows 2 at once
    assert progress.summary.sent == 2
    assert engine.process_run(run, in_workspace).state == "done"  # the rest, waiting for tokens in between
    assert len(smtp_server.recipients) == 5


def test_quota_stops_a_run_exactly_at_the_limit_and_emails_the_owner(
    in_workspace, engine_settings, smtp_server, make_mailing, member_factory, django_capture_on_commit_callbacks
):
    from tenant_apps.senders import quotas

    engine_settings(smtp_server.port)  # batches of 7
    owner = member_factory(in_workspace)
    in_workspace.owner = owner
    in_workspace.messages_per_month = 12
    in_workspace.save(update_fields=["owner", "messages_per_month"])
    quotas.reserve(in_workspace, 3)  # sent earlier this month
    run = start_run(make_mailing(15), in_workspace)
    with django_capture_on_commit_callbacks(execute=True):
        progress = engine.process_run(run, in_workspace)
    run.refresh_from_db()
    assert progress.state == "quota" and run.status == Run.Status.QUOTA
    assert len(smtp_server.recipients) == 9
    assert statuses(run) == {"sent": 9, "pending": 6}
    assert quotas.message_usage(in_workspace).used == 12
    [notice] = mail.outbox
    assert notice.to == [owner.email] and "12" in notice.body


def test_raising_the_quota_resumes_the_stopped_run(
    in_workspace, engine_settings, smtp_server, make_mailing, django_capture_on_commit_callbacks
):
    from shared_apps.console.services import set_workspace_quotas

    engine_settings(smtp_server.port)
    in_workspace.messages_per_month = 4
    in_workspace.save(update_fields=["messages_per_month"])
    run = start_run(make_mailing(6), in_workspace)
    engine.process_run(run, in_workspace)
    with django_capture_on_commit_callbacks(execute=True):
        set_workspace_quotas(in_workspace, messages_per_month=100, clients_max=None, plan_weight=1)
    connection.set_tenant(in_workspace)
    assert statuses(run) == {"sent": 6}


def globex_run(workspace, clients):
    """A due run of a new mailing to `clients` new clients in globex (call inside its schema)."""
    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message

    Client.objects.bulk_create(Client(email=f"g{i}@example.com") for i in range(clients))
    now = timezone.now()
    mailing = Mailing.objects.create(
        name="Globex news",
        message=Message.objects.create(subject="Hi", body_text="Hello"),
        start_at=now - dt.timedelta(minutes=1),
        end_at=now + dt.timedelta(days=1),
    )
    return start_run(mailing, workspace)


def test_a_small_mailing_of_another_workspace_is_served_between_the_batches_of_a_big_one(
    in_workspace, other_workspace, engine_settings, smtp_server, make_mailing, settings
):
    """Weighted round robin: once the small run is registered, it gets every other batch."""
    engine_settings(smtp_server.port)
    settings.DELIVERY_BATCH_SIZE = 5
    big = start_run(make_mailing(40), in_workspace)
    consumer.register_run(in_workspace.schema_name, big.pk)
    with schema_context(other_workspace.schema_name):
        small = globex_run(other_workspace, 8)
    consumer.register_run(other_workspace.schema_name, small.pk)

    served = []  # what a consumer does, batch by batch
    while (picked := fairness.pick()) is not None:
        state, *_ = consumer.serve_one_batch(*picked)
        served.append((picked[0], state))
        if state == "done":
            fairness.unregister(*picked)
    small_done = served.index((other_workspace.schema_name, "done"))
    big_done = served.index((in_workspace.schema_name, "done"))
    assert small_done <= 5, served  # its two batches and the finishing look, interleaved with the big one's
    assert big_done > small_done
    assert len(smtp_server.recipients) == 48


def test_the_send_task_loop_serves_every_registered_run_until_none_is_left(
    in_workspace, other_workspace, engine_settings, smtp_server, make_mailing, settings
):
    engine_settings(smtp_server.port)
    settings.DELIVERY_BATCH_SIZE = 5
    with schema_context(other_workspace.schema_name):
        small = globex_run(other_workspace, 3)
    consumer.register_run(other_workspace.schema_name, small.pk)
    big = start_run(make_mailing(12), in_workspace)
    ran_out = consumer.serve(
        in_workspace.schema_name, big.pk, budget=120, on_waiting=lambda *args: None, on_busy=lambda *args: None
    )
    assert not ran_out and fairness.pick() is None
    assert len(smtp_server.recipients) == 15
    with schema_context(other_workspace.schema_name):
        assert Run.objects.get(pk=small.pk).status == Run.Status.DONE


def test_a_mailing_whose_from_domain_lost_its_verification_is_paused_not_sent_unsigned(
    in_workspace, engine_settings, smtp_server, dns_zone, make_mailing
):
    from tenant_apps.campaigns.models import Mailing

    engine_settings(smtp_server.port).DELIVERY_FROM_EMAIL = "noreply@rassylka.test"
    domain = verified_domain(dns_zone)
    mailing = make_mailing(3, from_email="news@acme.example")
    dns_zone.unpublish(domain.keys.get().record_name)
    senders.verify_domain(domain)  # the daily check: the key is gone
    run = start_run(mailing, in_workspace)
    assert engine.process_run(run, in_workspace).state == "paused"
    assert smtp_server.recipients == []
    mailing = Mailing.objects.get(pk=mailing.pk)
    assert mailing.is_paused and "acme.example is not verified" in mailing.pause_detail
    assert statuses(run) == {"pending": 3}


def test_a_registered_run_of_a_deleted_workspace_leaves_the_rotation_and_the_others_go_on(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    fairness.register("ws_gone_for_good", 1)
    run = start_run(make_mailing(3), in_workspace)
    consumer.serve(in_workspace.schema_name, run.pk, budget=60, on_waiting=lambda *a: None, on_busy=lambda *a: None)
    assert len(smtp_server.recipients) == 3 and fairness.pick() is None

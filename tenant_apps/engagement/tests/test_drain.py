"""The drain: hits from the stream into PostgreSQL, once each, people and machines apart."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from conftest import host_client
from tenant_apps.engagement import drain as drain_module
from tenant_apps.engagement import stream
from tenant_apps.engagement.drain import drain

from .conftest import click_urls, path_of, pixel_url


@pytest.fixture
def one_message(in_workspace, sent_mailing):
    _mailing, run, messages = sent_mailing(1)
    ((_rcpt, message),) = messages.items()
    return run, run.deliveries.get(), message


def delivered_long_ago(delivery):
    type(delivery).objects.filter(pk=delivery.pk).update(finished_at=timezone.now() - dt.timedelta(hours=1))


def test_open_and_click_reach_the_reports_tables_and_the_client(in_workspace, one_message):
    from tenant_apps.audience.models import Client
    from tenant_apps.engagement.models import DeliveryEngagement, Hit

    run, delivery, message = one_message
    delivered_long_ago(delivery)
    browser = host_client(in_workspace.host)
    browser.get(path_of(pixel_url(message)), HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Chrome/140.0")
    browser.get(path_of(pixel_url(message)), HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Chrome/140.0")
    browser.get(path_of(click_urls(message)[1]), HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Chrome/140.0")

    assert drain() == 3

    hits = list(Hit.objects.order_by("at").values_list("kind", "machine", "agent", "network", "mailing_id"))
    assert hits == [("open", False, "Chrome", "127.0.0.0/24", run.mailing_id)] * 2 + [
        ("click", False, "Chrome", "127.0.0.0/24", run.mailing_id)
    ]
    engagement = DeliveryEngagement.objects.get(delivery=delivery)
    assert (engagement.opens, engagement.clicks, engagement.machine_opens) == (2, 1, 0)
    assert engagement.first_open_at <= engagement.first_click_at
    client = Client.objects.get(pk=delivery.client_id)
    assert client.last_opened_at == engagement.first_click_at  # the click is the latest human act
    assert client.last_clicked_at == engagement.first_click_at
    assert stream.client().xlen(stream.stream_key()) == 0, "drained entries leave the stream"


def test_click_seconds_after_delivery_is_a_link_scanner(in_workspace, one_message):
    from tenant_apps.audience.models import Client
    from tenant_apps.engagement.models import DeliveryEngagement, Hit

    _run, delivery, message = one_message  # just delivered
    host_client(in_workspace.host).get(path_of(click_urls(message)[0]), HTTP_USER_AGENT="Mozilla/5.0 Chrome/140")
    drain()
    hit = Hit.objects.get()
    assert (hit.machine, hit.reason) == (True, "scanner")
    engagement = DeliveryEngagement.objects.get(delivery=delivery)
    assert (engagement.clicks, engagement.machine_clicks, engagement.first_click_at) == (0, 1, None)
    assert Client.objects.get(pk=delivery.client_id).last_clicked_at is None


def test_several_links_clicked_within_one_second_are_a_scanner(in_workspace, one_message):
    from tenant_apps.engagement.models import Hit

    _run, delivery, message = one_message
    delivered_long_ago(delivery)
    browser = host_client(in_workspace.host)
    for url in click_urls(message):
        browser.get(path_of(url), HTTP_USER_AGENT="Mozilla/5.0 Chrome/140")
    drain()
    assert set(Hit.objects.values_list("machine", "reason")) == {(True, "burst")}


def test_privacy_proxy_head_and_bot_hits_are_machines_and_people_stay_apart(in_workspace, one_message):
    from tenant_apps.engagement.models import DeliveryEngagement, Hit

    _run, delivery, message = one_message
    delivered_long_ago(delivery)
    client = host_client(in_workspace.host)
    client.get(path_of(pixel_url(message)), HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.1.2.3")  # Apple MPP
    client.get(path_of(pixel_url(message)), HTTP_USER_AGENT="python-requests/2.32")
    client.head(path_of(click_urls(message)[0]))
    drain()
    assert sorted(Hit.objects.values_list("reason", flat=True)) == ["bot", "head", "proxy"]
    engagement = DeliveryEngagement.objects.get(delivery=delivery)
    assert (engagement.opens, engagement.clicks, engagement.machine_opens, engagement.machine_clicks) == (0, 0, 2, 1)
    assert engagement.first_open_at is None


def test_the_same_batch_written_twice_counts_once(in_workspace, one_message):
    from tenant_apps.engagement.models import DeliveryEngagement, Hit

    _run, delivery, message = one_message
    delivered_long_ago(delivery)
    host_client(in_workspace.host).get(path_of(pixel_url(message)), HTTP_USER_AGENT="Firefox/140")
    raw = stream.client().xrange(stream.stream_key())
    entries = [drain_module.parse(entry_id, fields) for entry_id, fields in raw]
    # A drain that died after COMMIT and before XACK: its entries are written again by the next one.
    assert drain_module.write_entries(entries) == 1
    assert drain_module.write_entries(entries) == 0
    assert Hit.objects.count() == 1
    assert DeliveryEngagement.objects.get(delivery=delivery).opens == 1


def test_entries_of_a_drain_that_died_are_claimed_back(in_workspace, one_message, monkeypatch):
    from tenant_apps.engagement.models import Hit

    _run, delivery, message = one_message
    host_client(in_workspace.host).get(path_of(pixel_url(message)))
    redis = stream.client()
    drain_module.ensure_group(redis)
    redis.xreadgroup(drain_module.GROUP, "dead-drain", {stream.stream_key(): ">"}, count=10)  # read, never acked
    monkeypatch.setattr(drain_module, "CLAIM_IDLE_MS", 0)
    assert drain() == 1
    assert Hit.objects.count() == 1


# --- two drains at once, on committed data -------------------------------------------------


@pytest.fixture
def committed_deliveries(django_db_blocker):
    """A workspace (committed) with one sent mailing to `n` clients; dropped afterwards."""
    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message
    from tenant_apps.delivery.models import Delivery, Run
    from tenants.services import create_workspace

    with django_db_blocker.unblock():
        slug = f"drain-{uuid.uuid4().hex[:8]}"
        workspace = create_workspace(name=slug, slug=slug)
        with schema_context(workspace.schema_name):
            now = timezone.now()
            clients = Client.objects.bulk_create(Client(email=f"d{i}@example.com") for i in range(40))
            message = Message.objects.create(subject="Hi", body_text="Hello")
            (mailing,) = Mailing.objects.bulk_create(
                [Mailing(name="D", message=message, start_at=now, end_at=now + dt.timedelta(days=1))]
            )
            run = Run.objects.create(mailing=mailing, scheduled_for=now, deadline=now + dt.timedelta(days=1))
            deliveries = Delivery.objects.bulk_create(
                Delivery(run=run, client=c, email=c.email, status="sent", finished_at=now - dt.timedelta(hours=1))
                for c in clients
            )
        workspace.delivery_ids = [d.pk for d in deliveries]
        yield workspace
        connection.set_schema_to_public()
        workspace.delete(force_drop=True)


def test_two_drains_at_the_same_time_write_each_hit_once(committed_deliveries, django_db_blocker):
    from tenant_apps.engagement.models import DeliveryEngagement, Hit

    workspace = committed_deliveries
    redis = stream.client()
    per_delivery = 25
    pipe = redis.pipeline(transaction=False)
    for delivery_id in workspace.delivery_ids:
        for _ in range(per_delivery):
            pipe.xadd(stream.stream_key(), {"h": stream.pack(workspace.slug, "o", delivery_id, 0, "", "Firefox", "")})
    pipe.execute()
    total = len(workspace.delivery_ids) * per_delivery
    written, errors = [], []

    def run_drain():
        try:
            with django_db_blocker.unblock():
                written.append(drain(batch=37))
        except Exception as error:  # reported below; a thread's exception would be lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(written) == total
    with django_db_blocker.unblock(), schema_context(workspace.schema_name):
        assert Hit.objects.count() == total
        assert Hit.objects.values("hit_id").distinct().count() == total
        opens = list(DeliveryEngagement.objects.values_list("opens", flat=True))
    assert opens == [per_delivery] * len(workspace.delivery_ids)

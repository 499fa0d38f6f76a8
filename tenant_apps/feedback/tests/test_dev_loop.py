"""`make run`'s loop: the engine sends through the dev mail catcher, which bounces `bounce*@` and
reports `complain*@` to the bounce receiver; the events land on the deliveries and the mail page shows them."""

import time

import pytest
from django.db import connection

from saas import mailcatcher
from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Delivery
from tenant_apps.feedback import receiver
from tenant_apps.feedback.models import FeedbackEvent

from .conftest import free_port

pytestmark = pytest.mark.django_db


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_catcher_bounces_and_complains_back_through_the_receiver(
    in_workspace, engine_settings, make_mailing, real_queue, settings, tmp_path
):
    from tenant_apps.audience.models import Client

    settings.BOUNCE_DOMAIN = "bounces.localhost"
    bounces = receiver.start("127.0.0.1", free_port(), copy_dir=tmp_path)
    catcher = mailcatcher.start(tmp_path, port=free_port(), bounce_to=("127.0.0.1", bounces.port))
    try:
        engine_settings(catcher.port)
        mailing = make_mailing(1)
        Client.objects.create(email="bounce-me@example.com")
        Client.objects.create(email="complainer@example.com")
        (run,) = services.prepare_due_runs(mailing, workspace=in_workspace)
        engine.process_run(run, in_workspace)
        assert wait_for(lambda: bounces.handler.accepted == 2), "the catcher's two reports should be queued"
    finally:
        catcher.stop()
        bounces.stop()
    real_queue.drain()
    connection.set_tenant(in_workspace)
    statuses = dict(Delivery.objects.filter(run=run).values_list("email", "status"))
    assert statuses["bounce-me@example.com"] == "bounced"
    assert statuses["complainer@example.com"] == "complained"
    assert set(FeedbackEvent.objects.values_list("reporting_mta", flat=True)) == {"mailcatcher.localhost"}
    copies = sorted(path.name for path in tmp_path.glob("*-bounce-*.eml"))
    assert len(copies) == 2  # what /dev/mail/ lists next to the sent mail


def test_dev_mailbox_reads_a_bounce_copy_like_any_message(tmp_path):
    from shared_apps.landing.dev_views import _read
    from tenant_apps.feedback.reports_builder import make_dsn

    path = tmp_path / "1.000000-bounce-abcd.eml"
    path.write_bytes(make_dsn("bounces+x@bounces.localhost", "gone@example.com"))
    mail = _read(path)
    assert mail["subject"] == "Undelivered Mail Returned to Sender"
    assert "gone@example.com" in mail["body"]

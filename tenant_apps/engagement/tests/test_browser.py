"""A recipient reads a sent message in a real browser: one open, one click, both recorded as a person's."""

import datetime as dt
import email
import uuid
from email import policy

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from saas import mailcatcher
from tenant_apps.delivery.tests.conftest import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def tracked_workspace(live_site):
    """A fresh workspace (committed: the live server must see it) with tracking on; dropped afterwards."""
    from tenant_apps.engagement.services import save_tracking_settings
    from tenants.services import create_workspace

    slug = f"trk-{uuid.uuid4().hex[:8]}"
    workspace = create_workspace(name=slug, slug=slug)
    with schema_context(workspace.schema_name):
        save_tracking_settings(track_opens=True, track_clicks=True)
    yield workspace
    connection.set_schema_to_public()
    workspace.delete(force_drop=True)


@pytest.fixture
def catcher(tmp_path):
    """The development mail catcher (saas/mailcatcher.py) on a free port."""
    port = free_port()
    controller = mailcatcher.start(tmp_path, port=port)
    yield port, tmp_path
    controller.stop()


def test_reading_a_caught_message_in_chromium_records_one_open_and_one_click(
    live_site, page, tracked_workspace, catcher, settings
):
    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.models import Mailing, Message
    from tenant_apps.delivery import engine, services
    from tenant_apps.engagement.drain import drain
    from tenant_apps.engagement.models import DeliveryEngagement, Hit

    catcher_port, mail_dir = catcher
    settings.DELIVERY_EMAIL = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": catcher_port}
    settings.SITE_URL_PORT = str(live_site.port)  # links in the mail point at the live server
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
    landing = live_site.url("/")  # the public home page: where the tracked link leads
    workspace = tracked_workspace
    with schema_context(workspace.schema_name):
        client = Client.objects.create(email="reader@example.com", full_name="Читатель")
        message = Message.objects.create(
            subject="Новости",
            body_text="Новости: {{ unsubscribe_url }}",
            body_html=f'<p>Здравствуйте, {{{{ name }}}}!</p><p><a href="{landing}">Читать</a></p>',
        )
        now = timezone.now()
        (mailing,) = Mailing.objects.bulk_create(  # no post_save: this test sends it itself
            [Mailing(name="News", message=message, start_at=now, end_at=now + dt.timedelta(days=1))]
        )
        for run in services.prepare_due_runs(mailing, workspace=workspace):
            engine.process_run(run, workspace)
        # The recipient reads it an hour later (a click seconds after delivery is a link scanner's).
        run.deliveries.update(finished_at=now - dt.timedelta(hours=1))

    (saved,) = mail_dir.glob("*.eml")
    caught = email.message_from_bytes(saved.read_bytes(), policy=policy.default)
    html = caught.get_body(("html",)).get_content()
    assert f"{workspace.host}:{live_site.port}/o/" in html and f"{workspace.host}:{live_site.port}/c/" in html

    with page.expect_response(lambda response: "/o/" in response.url) as pixel:
        page.set_content(html)
    assert pixel.value.status == 200 and pixel.value.headers["content-type"] == "image/gif"
    with page.expect_navigation(url=landing):
        page.get_by_role("link", name="Читать").click()

    assert drain() == 2
    with schema_context(workspace.schema_name):
        hits = sorted(Hit.objects.values_list("kind", "machine", "agent"))
        engagement = DeliveryEngagement.objects.get()
        client.refresh_from_db()
    assert hits == [("click", False, "Chrome"), ("open", False, "Chrome")]
    assert (engagement.opens, engagement.clicks, engagement.machine_opens, engagement.machine_clicks) == (1, 1, 0, 0)
    assert client.last_opened_at is not None and client.last_clicked_at is not None

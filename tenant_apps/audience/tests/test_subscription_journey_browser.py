"""The whole sign-up journey in Chromium: the owner makes a list with a form, a visitor subscribes on the
hosted page, confirms from the mail catcher, manages their preferences, and the owner sees the consent."""

import email
import re
import time
import uuid
from email import policy

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from saas import mailcatcher
from saas.tests.test_browser_smoke import signed_in_cookie
from tenant_apps.audience.models import Client, ConsentRecord, MailingList, Membership
from tenant_apps.campaigns.models import Message
from tenant_apps.delivery.tests.conftest import free_port
from tenants.access import set_member_role
from tenants.models import Workspace

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


@pytest.fixture
def tag():
    """A unique marker for what this run commits; removed afterwards."""
    marker = f"s{uuid.uuid4().hex[:8]}"
    yield marker
    with schema_context("ws_journeys"):
        Client.objects.filter(email__contains=marker).delete()
        MailingList.objects.filter(name__contains=marker).delete()
        Message.objects.filter(subject__contains=marker, mailings__isnull=True).delete()


@pytest.fixture
def catcher(tmp_path, live_site, settings):
    """The development mail catcher (saas/mailcatcher.py) as the workspace's mail server."""
    port = free_port()
    controller = mailcatcher.start(tmp_path, port=port)
    settings.DELIVERY_EMAIL = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": port}
    yield tmp_path
    controller.stop()


def caught(mail_dir, count):
    """The caught messages, oldest first, once there are `count` of them."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.eml"))
        if len(files) >= count:
            return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
        time.sleep(0.1)
    raise AssertionError(f"expected {count} messages, caught {len(list(mail_dir.glob('*.eml')))}")


def link_in(message, path):
    return re.search(rf"http://\S+{path}\S+/", message.get_body(("plain",)).get_content()).group(0)


def test_owner_makes_a_form_a_visitor_subscribes_confirms_manages_preferences_and_the_owner_sees_consent(
    live_site, page, browser, catcher, tag
):
    owner, _ = get_user_model().objects.get_or_create(email="forms-journey@example.com")
    set_member_role(owner, Workspace.objects.get(slug="journeys"), "owner")
    with schema_context("ws_journeys"):
        Message.objects.create(subject=f"Добро пожаловать {tag}", body_text="Ваши списки: {{ preferences_url }}")
    page.context.add_cookies([signed_in_cookie(owner, "journeys.localhost")])

    # The owner: a public list (double opt-in is on by default), then its form with a welcome message.
    page.goto(live_site.workspace_url("journeys", "/clients/lists/new/"))
    page.fill("#id_name", f"Новости {tag}")
    page.check("#id_is_public")
    assert page.is_checked("#id_double_opt_in")
    page.get_by_role("button", name="Сохранить").click()
    page.get_by_role("link", name="Новая форма").click()
    page.fill("#id_title", "Подпишитесь на новости")
    page.fill("#id_text", "Раз в неделю, без спама.")
    page.fill("#id_consent_text", f"Я согласен получать новости {tag}.")
    page.check("#id_shown_fields_0")  # the name
    page.select_option("#id_welcome_message", label=f"Добро пожаловать {tag}")
    page.get_by_role("button", name="Сохранить").click()
    assert "&lt;form" in page.get_by_test_id("form-snippet").inner_html()
    form_url = page.get_by_test_id("form-page-url").inner_text()

    # A visitor, not signed in, in an English browser.
    visitor_context = browser.new_context(locale="en-US")
    visitor = visitor_context.new_page()
    visitor.goto(form_url)
    assert visitor.get_by_test_id("form-workspace").inner_text() == "Journeys"
    assert "Раз в неделю, без спама." in visitor.content()
    visitor.get_by_label("Email").fill(f"reader-{tag}@example.com")
    visitor.get_by_label("Name").fill("Reader")
    visitor.get_by_role("button", name="Subscribe").click()
    assert visitor.get_by_test_id("check-email").is_visible()
    with schema_context("ws_journeys"):
        assert Membership.objects.get(client__email__contains=tag).status == "unconfirmed"

    (confirmation,) = caught(catcher, 1)
    assert confirmation["Subject"] == "Confirm your subscription to Journeys"
    visitor.goto(link_in(confirmation, "/f/confirm/"))
    visitor.get_by_role("button", name="Yes, subscribe me").click()
    assert visitor.get_by_test_id("confirmed").is_visible()

    _confirmation, welcome = caught(catcher, 2)
    assert welcome["Subject"] == f"Добро пожаловать {tag}"
    visitor.goto(link_in(welcome, "/p/"))
    assert visitor.get_by_label(f"Новости {tag}").is_checked()
    visitor.get_by_label("Name").fill("Reader Two")
    visitor.get_by_label(f"Новости {tag}").uncheck()
    visitor.get_by_role("button", name="Save").click()
    assert visitor.get_by_test_id("preferences-saved").is_visible()
    visitor_context.close()
    with schema_context("ws_journeys"):
        client = Client.objects.get(email__contains=tag)
        assert client.full_name == "Reader Two" and client.memberships.get().status == "unsubscribed"
        record = ConsentRecord.objects.get(client=client)
        assert record.confirmed_at is not None and record.user_agent_family == "Chrome"

    # The owner reads the consent record on the client's page.
    page.goto(live_site.workspace_url("journeys", f"/clients/{client.pk}/"))
    records = page.get_by_test_id("consent-records")
    assert f"Я согласен получать новости {tag}." in records.inner_text()
    assert "127.0.0.0/24" in records.inner_text()

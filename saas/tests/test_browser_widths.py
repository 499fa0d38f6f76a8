"""No page is wider than the screen, on a desktop (1366 px) or a phone (390 px), in either language.

Every page a member, an owner and a manager opens is loaded in Chromium and
`document.documentElement.scrollWidth` is compared with `innerWidth`: a page
wider than the screen makes the whole page scroll sideways on a phone. Wide
tables scroll inside their own box instead, with a fade at the edge as the cue
that more columns are there, and the console's action buttons stay on screen.
"""

import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from saas.factories import make_client, make_mailing, make_manager, make_message, make_post, make_user
from saas.testing import record_csp_violation
from saas.tests.test_browser_smoke import signed_in_cookie
from tenants.access import set_member_role

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1366, "phone": 390}
LONG_EMAIL = "a.very.long.address.of.somebody@subdivision.of.an.example-company.com"
LONG_RESPONSE = "5.1.1 <" + LONG_EMAIL + ">: Recipient address rejected: " + "x" * 180


@pytest.fixture(scope="module")
def filled(journey_workspace):
    """An owner who is also a manager, and a workspace with a bit of everything (committed, removed after)."""
    from tenant_apps.audience.models import (
        Client,
        ConsentRecord,
        DataRightsLog,
        ImportJob,
        MailingList,
        SubscriptionForm,
    )
    from tenant_apps.campaigns.models import Mailing, Message
    from tenant_apps.delivery.models import Attempt, Delivery, Run
    from tenants.models import ScheduleEntry

    tag = uuid.uuid4().hex[:8]
    person = make_manager(email=f"widths-{tag}-{LONG_EMAIL}", full_name="Wide Widths")
    set_member_role(person, journey_workspace, "owner")
    victim = make_user(f"victim-{tag}-{LONG_EMAIL}")
    now = timezone.now()
    with schema_context(journey_workspace.schema_name):
        clients = [
            make_client(f"{n}-{tag}-{LONG_EMAIL}", full_name=f"Client number {n} {tag}", comment="x" * 80)
            for n in range(3)
        ]
        job = ImportJob.objects.create(
            file_name=f"{tag}-a-rather-long-file-name-of-an-export-from-the-old-system.csv",
            data=b"email\n",
            status="done",
            total_rows=3,
            processed_rows=3,
            error_count=1,
            errors=[[2, "Enter a valid email address.", {}, LONG_EMAIL + "@"]],
            finished_at=now,
        )
        log = DataRightsLog.objects.create(action="erase", client_id=999999, email_hash="f" * 64, by=person.email)
        message = make_message(f"Monthly news {tag} " + "long " * 10, "Hello {{ name }}")
        # Saved with a future start (nothing is sent), then moved into the past as the engine would.
        mailing = make_mailing(
            f"Widths {tag} " + "long name " * 6,
            message=message,
            start_at=now + timedelta(days=1),
            end_at=now + timedelta(days=2),
        )
        Mailing.objects.filter(pk=mailing.pk).update(
            start_at=now - timedelta(hours=5), end_at=now - timedelta(hours=1), status="completed"
        )
        run = Run.objects.create(mailing=mailing, scheduled_for=now - timedelta(hours=5), deadline=now, status="done")
        for n, client in enumerate(clients):
            failed = n == 0
            delivery = Delivery.objects.create(
                run=run, client=client, email=client.email, status="failed" if failed else "sent", finished_at=now
            )
            Attempt.objects.create(
                delivery=delivery,
                at=now - timedelta(hours=4),
                status="failure" if failed else "success",
                smtp_code=550 if failed else 250,
                response=LONG_RESPONSE if failed else "2.0.0 Ok: queued as " + "Q" * 40,
                permanent=failed,
            )
        mailing_list = MailingList.objects.create(name=f"Widths {tag} " + "long list name " * 4, is_public=True)
        subscription_form = SubscriptionForm.objects.create(
            mailing_list=mailing_list,
            title="Subscribe to our rather long-named newsletter " * 2,
            text="x" * 300,
            consent_text="I agree to receive it; " * 10,
            shown_fields=["full_name"],
            thank_you_url=f"https://{'sub.' * 10}example.com/thanks",
            allowed_hosts=f"{'sub.' * 10}example.com",
        )
        ConsentRecord.objects.create(
            client=clients[0],
            mailing_list=mailing_list,
            form=subscription_form,
            requested_at=now,
            confirmed_at=now,
            network="2001:db8:1234::/48",
            user_agent_family="Firefox",
            consent_text="I agree to receive it; " * 10,
        )
        running = make_mailing(
            f"Running {tag}", message=message, start_at=now + timedelta(days=1), end_at=now + timedelta(days=9)
        )
        endpoint = make_webhook_endpoint(tag, now)
    post = make_post(f"A post with a rather long title about {LONG_EMAIL} {tag}", slug=f"widths-{tag}")
    yield {
        "post": post,
        "person": person,
        "victim": victim,
        "tag": tag,
        "client": clients[0],
        "job": job,
        "message": message,
        "mailing": mailing,
        "running": running,
        "list": mailing_list,
        "form": subscription_form,
        "endpoint": endpoint,
    }
    with schema_context(journey_workspace.schema_name):
        Mailing.objects.filter(pk__in=[mailing.pk, running.pk]).delete()
        Message.objects.filter(pk=message.pk).delete()
        Client.objects.filter(email__contains=tag).delete()
        MailingList.objects.filter(pk=mailing_list.pk).delete()
        ImportJob.objects.filter(pk=job.pk).delete()
        DataRightsLog.objects.filter(pk=log.pk).delete()
        endpoint.delete()
    ScheduleEntry.objects.filter(workspace=journey_workspace, mailing_id__in=[mailing.pk, running.pk]).delete()
    get_user_model().objects.filter(pk__in=[person.pk, victim.pk]).delete()
    post.delete()


def make_webhook_endpoint(tag, now):
    """A failing endpoint with a long address and a failed attempt in its log."""
    from tenant_apps.webhooks.models import Attempt, Message
    from tenant_apps.webhooks.services import create_endpoint

    endpoint, _secret = create_endpoint(
        f"https://127.0.0.1:9/{tag}/a-rather-long-path/of/the/receiver/" + "segment/" * 8, ["delivery.sent"]
    )
    message = Message.objects.create(
        endpoint=endpoint, webhook_id=f"msg_{tag}", body="{}", event_count=3, next_attempt_at=now, created=now
    )
    Attempt.objects.create(
        endpoint=endpoint, message=message, at=now, succeeded=False, error="TLS: " + "x" * 120, response_ms=10
    )
    return endpoint


def pages(filled, journey_workspace):
    """(name, host, path) of every page to measure."""
    ws = journey_workspace.slug
    mailing, running = filled["mailing"], filled["running"]
    public = [
        ("home", None, "/"),
        ("blog", None, "/blog/"),
        ("blog post", None, filled["post"].get_absolute_url()),
        ("profile", None, "/profile/"),
        ("my workspaces", None, "/workspaces/"),
        ("new workspace", None, "/workspaces/new/"),
        ("console workspaces", None, "/console/"),
        ("console mailings", None, "/console/mailings/"),
        ("console clients", None, "/console/clients/"),
        ("console users", None, "/console/users/"),
        ("confirm disable", None, f"/console/mailings/{ws}/{running.pk}/disable/confirm/"),
        ("confirm block", None, f"/console/users/{filled['victim'].pk}/block/confirm/"),
    ]
    workspace = [
        ("dashboard", "/"),
        ("clients", "/clients/"),
        ("client", f"/clients/{filled['client'].pk}/"),
        ("client form", "/clients/new/"),
        ("import", "/clients/import/"),
        ("import detail", f"/clients/import/{filled['job'].pk}/"),
        ("segments", "/clients/segments/"),
        ("segment builder", "/clients/segments/new/"),
        ("erase client", f"/clients/{filled['client'].pk}/erase/"),
        ("data requests", "/clients/data-rights/"),
        ("messages", "/messages/"),
        ("message", f"/messages/{filled['message'].pk}/"),
        ("message form", "/messages/new/"),
        ("mailings", "/mailings/"),
        ("mailing", f"/mailings/{mailing.pk}/"),
        ("mailing form", f"/mailings/{mailing.pk}/edit/"),
        ("reports", "/delivery/"),
        ("mailing report", f"/delivery/mailings/{mailing.pk}/"),
        ("list", f"/clients/lists/{filled['list'].pk}/"),
        ("subscription form", f"/clients/forms/{filled['form'].pk}/"),
        ("subscription form edit", f"/clients/forms/{filled['form'].pk}/edit/"),
        ("members", "/workspace/members/"),
        ("workspace settings", "/workspace/settings/"),
        ("webhooks", "/webhooks/"),
        ("webhook endpoint", f"/webhooks/{filled['endpoint'].pk}/"),
        ("webhook form", f"/webhooks/{filled['endpoint'].pk}/edit/"),
        ("API keys", "/workspace/api-keys/"),
    ]
    return public + [(name, f"{ws}.localhost", path) for name, path in workspace]


def widest_element(page):
    """The innermost element sticking out furthest to the right (to say what to fix)."""
    return page.evaluate(
        """() => {
            let worst = null, right = innerWidth;
            for (const el of document.body.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.right > right) { right = box.right; worst = el; }
            }
            if (!worst) return 'a line of text';
            const id = worst.id ? '#' + worst.id : '';
            const plain = typeof worst.className === 'string' && worst.className;
            const cls = plain ? '.' + worst.className.split(' ').join('.') : '';
            return worst.tagName.toLowerCase() + id + cls;
        }"""
    )


def anonymous_pages(filled, journey_workspace):
    """(name, host, path) of the pages a visitor who is not signed in opens."""
    from django_tenants.utils import schema_context

    from tenant_apps.audience.subscriptions import make_confirm_token
    from tenant_apps.delivery.unsubscribe import make_token, unsubscribe_url

    host = f"{journey_workspace.slug}.localhost"
    link = unsubscribe_url(host, journey_workspace.schema_name, filled["client"].pk)
    with schema_context(journey_workspace.schema_name):
        confirm_token = make_confirm_token(filled["client"])
    return [
        ("home", None, "/"),
        ("blog post", None, filled["post"].get_absolute_url()),
        ("sign in", None, "/accounts/login/"),
        ("sign up", None, "/accounts/signup/"),
        ("password reset", None, "/accounts/password/reset/"),
        ("unsubscribe", host, urlsplit(link).path),
        ("sign-up form", host, f"/f/{filled['form'].slug}/"),
        ("sign-up done", host, f"/f/{filled['form'].slug}/?done=confirm"),
        ("preferences", host, f"/p/{make_token(journey_workspace.schema_name, filled['client'].pk)}/"),
        ("confirm", host, f"/f/confirm/{confirm_token}/"),
    ]


def overflowing_tables(page):
    """Wide tables on the page whose scroll box shows no cue that it scrolls."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.table-responsive'))
            .filter(box => box.scrollWidth > box.clientWidth + 1 && !box.classList.contains('scroll-cue-end'))
            .map(box => (box.querySelector('table') || box).dataset.testid || 'a table')"""
    )


@pytest.mark.parametrize("visitor", ["signed in", "anonymous"])
@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("device", WIDTHS)
def test_no_page_is_wider_than_the_screen(live_site, browser, filled, journey_workspace, device, language, visitor):
    width = WIDTHS[device]
    context = browser.new_context(locale=f"{language}-RU", viewport={"width": width, "height": 800})
    hosts = ["localhost", f"{journey_workspace.slug}.localhost"]
    if visitor == "signed in":
        context.add_cookies([signed_in_cookie(filled["person"], host) for host in hosts])
    context.add_cookies([{"name": "django_language", "value": language, "domain": host, "path": "/"} for host in hosts])
    page = context.new_page()
    page.set_default_timeout(15_000)
    csp_violations = []
    page.on("console", lambda message: record_csp_violation(csp_violations, message))
    too_wide, without_cue = [], []
    visited = pages(filled, journey_workspace) if visitor == "signed in" else anonymous_pages(filled, journey_workspace)
    try:
        for name, host, path in visited:
            response = page.goto(live_site.url(path, host=host or "localhost"))
            assert response.status == 200, f"{name}: HTTP {response.status}"
            assert page.locator("html").get_attribute("lang") == language, name
            page_width = page.evaluate("document.documentElement.scrollWidth")
            if page_width > page.evaluate("innerWidth"):
                too_wide.append(f"{name} ({page_width}px: {widest_element(page)})")
            without_cue += [f"{name}: {table}" for table in overflowing_tables(page)]
    finally:
        context.close()

    assert too_wide == [], f"wider than {width}px: {too_wide}"
    assert csp_violations == [], "Content-Security-Policy violations in the console"
    assert without_cue == [], f"tables that scroll with no cue: {without_cue}"


@pytest.fixture
def phone(browser, filled, journey_workspace):
    context = browser.new_context(locale="ru-RU", viewport={"width": WIDTHS["phone"], "height": 800})
    hosts = ["localhost", f"{journey_workspace.slug}.localhost"]
    context.add_cookies([signed_in_cookie(filled["person"], host) for host in hosts])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_wide_console_table_scrolls_in_its_box_with_a_cue_and_its_button_on_screen(live_site, phone, filled):
    running = filled["running"]
    phone.goto(live_site.url(f"/console/mailings/?name={filled['tag']}"))

    box = phone.locator(".table-responsive").first
    assert box.evaluate("box => box.scrollWidth > box.clientWidth")  # wider than a phone: it scrolls...
    assert "scroll-cue-end" in box.get_attribute("class")  # ...and says so
    button = phone.get_by_test_id(f"mailing-journeys-{running.pk}").get_by_role("link", name="Отключить")
    left, right = button.evaluate("b => [b.getBoundingClientRect().left, b.getBoundingClientRect().right]")
    assert 0 <= left and right <= WIDTHS["phone"]  # reachable without scrolling the table

    box.evaluate("box => box.scrollTo(box.scrollWidth, 0)")
    expect(box).not_to_have_class(re.compile(r"\bscroll-cue-end\b"))
    expect(box).to_have_class(re.compile(r"\bscroll-cue-start\b"))


def test_attempt_log_scrolls_in_its_box_on_a_phone(live_site, phone, filled, journey_workspace):
    phone.goto(live_site.workspace_url(journey_workspace.slug, f"/delivery/mailings/{filled['mailing'].pk}/"))

    log_box = phone.get_by_test_id("attempts").locator("xpath=..")
    assert "table-responsive" in log_box.get_attribute("class")
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_file_picker_speaks_the_page_language(live_site, browser, filled, journey_workspace):
    context = browser.new_context(locale="ru-RU", viewport={"width": WIDTHS["phone"], "height": 800})
    host = f"{journey_workspace.slug}.localhost"
    context.add_cookies([signed_in_cookie(filled["person"], host)])
    context.add_cookies([{"name": "django_language", "value": "en", "domain": host, "path": "/"}])
    page = context.new_page()
    try:
        page.goto(live_site.workspace_url(journey_workspace.slug, "/clients/import/"))
        picker = page.locator("[data-file-picker]")
        assert picker.get_by_test_id("choose-file").inner_text() == "Choose a file"
        assert picker.locator("[data-file-name]").inner_text() == "No file chosen"
        assert picker.locator("input[type=file]").get_attribute("lang") == "en"

        picker.locator("input[type=file]").set_input_files(
            {"name": "people.csv", "mimeType": "text/csv", "buffer": b"email\na@example.com\n"}
        )

        expect(picker.locator("[data-file-name]")).to_have_text("people.csv")
    finally:
        context.close()

"""Under the Content-Security-Policy the pages still work in Chromium, with no violation in the console.

The `page` fixture fails any journey that logs a violation; these tests
visit the pages whose scripts moved out of the templates (confirmations,
auto-submitting selects, Chart.js, the address suggestion) and the sandboxed
message preview.
"""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from saas.tests.test_browser_smoke import signed_in_cookie
from tenants.access import member_role, set_member_role
from tenants.models import Workspace

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


def new_user(prefix):
    user, _ = get_user_model().objects.get_or_create(email=f"{prefix}-{uuid.uuid4().hex[:8]}@example.com")
    return user


def signed_in_owner(page):
    owner = new_user("csp-owner")
    set_member_role(owner, Workspace.objects.get(slug="journeys"), "owner")
    page.context.add_cookies([signed_in_cookie(owner, "journeys.localhost")])
    return owner


def test_an_inline_script_is_refused_and_the_violation_is_caught(live_site, page):
    page.goto(live_site.url("/"))

    ran = page.evaluate(
        "() => { window.ran = false; const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.body.appendChild(s); return window.ran; }"
    )
    page.wait_for_timeout(200)  # the console event arrives asynchronously

    assert ran is False
    assert any("script-src" in violation for violation in page.csp_violations)
    page.csp_violations.clear()  # expected here; any other test would fail on it


def test_every_page_sends_the_policy_and_the_scripts_still_run(live_site, page):
    response = page.goto(live_site.url("/"))

    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    assert page.evaluate("typeof bootstrap") == "object"  # Bootstrap's bundle ran


def test_removing_a_member_asks_first_and_a_refusal_keeps_them(live_site, page):
    signed_in_owner(page)
    member = new_user("csp-member")
    journeys = Workspace.objects.get(slug="journeys")
    set_member_role(member, journeys, "viewer")
    page.goto(live_site.workspace_url("journeys", "/workspace/members/"))
    row = page.get_by_test_id(f"member-{member.email}")

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.locator("form[data-confirm] button").click()
    page.wait_for_timeout(300)
    assert questions == ["Убрать этого участника из пространства?"]
    assert member_role(member, journeys) is not None

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.locator("form[data-confirm] button").click()
    assert member_role(member, journeys) is None


def test_the_dashboard_charts_draw(live_site, page):
    from saas.factories import make_mailing

    with schema_context("ws_journeys"):
        make_mailing(name=f"CSP chart {uuid.uuid4().hex[:6]}")
    signed_in_owner(page)

    page.goto(live_site.workspace_url("journeys", "/"))

    assert page.evaluate("() => !!Chart.getChart('mailings-chart') && !!Chart.getChart('deliveries-chart')")


def test_the_preview_iframe_stays_sandboxed_and_shows_the_messages_inline_styles(live_site, page):
    from tenant_apps.campaigns.models import Message

    signed_in_owner(page)
    with schema_context("ws_journeys"):
        message = Message.objects.create(
            subject="CSP preview",
            body_text="Text",
            body_html='<p style="color: rgb(200, 0, 0)" data-x="1">Red news</p>',
        )

    page.goto(live_site.workspace_url("journeys", f"/messages/{message.pk}/"))

    frame_element = page.get_by_test_id("preview-html")
    assert frame_element.get_attribute("sandbox") == ""
    paragraph = page.frame_locator("[data-testid=preview-html]").locator("p")
    assert paragraph.inner_text() == "Red news"
    assert paragraph.evaluate("p => getComputedStyle(p).color") == "rgb(200, 0, 0)"

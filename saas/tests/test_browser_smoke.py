"""A person opens the public site and a workspace in a real browser."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


def signed_in_cookie(user, host):
    """A session cookie for `host`, as the sign-in hand-off would set it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "domain": host, "path": "/"}


def test_visitor_sees_the_landing_page_in_russian(live_site, page):
    page.goto(live_site.url("/"))

    assert page.locator("h1").inner_text() == "Email-рассылки — это просто"
    assert page.get_by_role("link", name="Зарегистрироваться").first.is_visible()
    assert page.locator("link[href*='bootstrap.min.css']").count() == 1
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")


def test_visitor_switches_the_interface_to_english(live_site, page):
    page.goto(live_site.url("/"))

    with page.expect_navigation():
        page.select_option("#language-select", "en")

    assert page.locator("h1").inner_text() == "Email campaigns made simple"


def test_anonymous_visitor_of_a_workspace_lands_on_the_sign_in_page(live_site, page):
    page.goto(live_site.workspace_url("journeys"))

    assert page.url.startswith(live_site.url("/accounts/login/"))
    assert page.get_by_role("button", name="Войти").is_visible()


def test_member_sees_the_workspace_dashboard(live_site, page):
    from tenants.access import set_member_role
    from tenants.models import Workspace

    user, _ = get_user_model().objects.get_or_create(email="smoke-member@example.com")
    set_member_role(user, Workspace.objects.get(slug="journeys"), "editor")
    page.context.add_cookies([signed_in_cookie(user, "journeys.localhost")])

    page.goto(live_site.workspace_url("journeys"))

    assert page.locator("nav .navbar-brand").inner_text() == "Journeys"
    assert page.get_by_test_id("count-clients").is_visible()
    assert "smoke-member@example.com" in page.locator("nav").inner_text()


def test_unknown_workspace_shows_the_404_page(live_site, page):
    response = page.goto(live_site.workspace_url("no-such-place"))

    assert response.status == 404
    assert page.get_by_text("Страница не найдена").is_visible()

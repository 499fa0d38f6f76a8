"""Fixtures for browser journeys: a live server and Debian's Chromium via Playwright.

The live server runs in a thread of the test process against the test
database; what it writes is committed (the journeys sign up real users), so
journeys use fresh emails and slugs. pytest-django's own `live_server` is not
used: it needs transactional tests, whose flush fails on cross-schema keys.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


class LiveServer:
    def __init__(self, port):
        self.port = port

    def url(self, path="/", host="localhost"):
        return f"http://{host}:{self.port}{path}"

    def workspace_url(self, slug, path="/"):
        return self.url(path, host=f"{slug}.localhost")


@pytest.fixture(scope="session")
def live_site(django_db_setup, django_db_blocker):
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    django_db_blocker.unblock()  # the server thread needs the database for the whole session
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield LiveServer(thread.port)
    thread.terminate()
    close_other_test_database_sessions()
    django_db_blocker.restore()


def close_other_test_database_sessions():
    """End sessions left by the server's request threads (and by ORM calls made
    under Playwright's greenlet), so the test database can be dropped at exit."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connections.close_all()


# Browser journeys commit what they create (the live server runs in another
# thread), so they write only into a workspace of their own: their leftovers
# never show up in the unit tests' acme, and their clean-ups never touch it.
JOURNEY_WORKSPACE_SLUG = "journeys"


@pytest.fixture(scope="session")
def journey_workspace(django_db_setup, django_db_blocker):
    """The browser journeys' own workspace, committed (created once per test database)."""
    from django.db import connection

    from tenants.models import Workspace
    from tenants.services import create_workspace

    with django_db_blocker.unblock():
        workspace = Workspace.objects.filter(slug=JOURNEY_WORKSPACE_SLUG).first()
        if workspace is None:
            workspace = create_workspace(name="Journeys", slug=JOURNEY_WORKSPACE_SLUG)
        connection.set_schema_to_public()
    return workspace


@pytest.fixture(scope="session")
def browser(live_site):
    """Chromium; closed before the live server so no request thread keeps a database connection."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls a
    # test makes between page steps are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_site, settings):
    # Absolute links (the sign-in hand-off, emails) point at the live server's port, as `make run` does.
    settings.SITE_URL = live_site.url("").rstrip("/")
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Every journey also checks the Content-Security-Policy: Chromium reports each refused
    # script, style, image or form target as a console error naming the policy.
    page.csp_violations = []
    page.on("console", lambda message: record_csp_violation(page.csp_violations, message))
    yield page
    context.close()
    assert page.csp_violations == [], "Content-Security-Policy violations in the console"


def record_csp_violation(violations, message):
    if message.type == "error" and "Content Security Policy" in message.text:
        violations.append(f"{message.location.get('url')}: {message.text}")

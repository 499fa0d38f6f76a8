"""A member adds a client by hand and many from a CSV file, in a real browser."""

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context
from huey.contrib.djhuey import HUEY

from saas.tests.test_browser_smoke import signed_in_cookie
from tenant_apps.audience.models import Client, ImportJob
from tenants.access import set_member_role
from tenants.models import Workspace

# Journeys commit what they make: only into their own workspace (saas/testing.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("journey_workspace")]


@pytest.fixture
def editor_page(live_site, page):
    user, _ = get_user_model().objects.get_or_create(email="clients-journey@example.com")
    set_member_role(user, Workspace.objects.get(slug="journeys"), "editor")
    page.context.add_cookies([signed_in_cookie(user, "journeys.localhost")])
    return page


@pytest.fixture
def tag():
    """A unique marker for this run's clients; they are committed, so removed afterwards."""
    marker = f"j{uuid.uuid4().hex[:8]}"
    yield marker
    with schema_context("ws_journeys"):
        Client.objects.filter(email__contains=marker).delete()
        ImportJob.objects.filter(file_name__contains=marker).delete()


@pytest.fixture
def queued_tasks():
    """Tasks go to the real Redis queue instead of running inline, so the page has to wait and poll."""
    HUEY.flush()
    HUEY.immediate = False
    yield HUEY
    HUEY.immediate = True
    HUEY.flush()


def test_editor_adds_a_client_with_the_form(live_site, editor_page, tag):
    page = editor_page
    page.goto(live_site.workspace_url("journeys", "/clients/"))
    page.get_by_role("link", name="Добавить клиента").first.click()  # the empty list repeats it

    page.get_by_label("email").fill(f"form-{tag}@example.com")
    page.get_by_label("Полное имя").fill("Фёдор Формов")
    page.get_by_role("button", name="Сохранить").click()

    assert page.get_by_role("heading", name=f"form-{tag}@example.com").is_visible()
    assert page.get_by_text(f"Клиент form-{tag}@example.com добавлен.").is_visible()
    page.get_by_role("link", name="Клиенты").first.click()
    page.get_by_placeholder("Email или имя").fill("Формов")
    page.get_by_role("button", name="Найти").click()
    assert page.get_by_test_id("client-table").get_by_text(f"form-{tag}@example.com").is_visible()


def test_editor_imports_a_csv_watches_the_progress_and_sees_the_clients(live_site, editor_page, tag, queued_tasks):
    page = editor_page
    rows = "\n".join(f"{tag}-{n:03}@example.com;Импорт {n}" for n in range(250))
    content = f"email;name\n{rows}\nnot-an-email;Плохой\n".encode()
    page.goto(live_site.workspace_url("journeys", "/clients/"))
    page.get_by_role("link", name="Импорт CSV").first.click()  # the empty list repeats it

    page.get_by_label("CSV-файл").set_input_files(
        files=[{"name": f"{tag}.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Загрузить и импортировать").click()

    # The upload only queued the work: the page shows a progress bar and polls.
    progress = page.get_by_test_id("import-progress")
    assert progress.get_attribute("data-progress-url")
    assert page.get_by_test_id("import-status").inner_text().startswith("в очереди")
    task = queued_tasks.dequeue()
    assert task.name.endswith("import_clients")
    queued_tasks.execute(task)  # what the huey consumer does

    page.get_by_test_id("import-report").wait_for()
    assert page.get_by_test_id("import-created").inner_text() == "250"
    assert page.get_by_test_id("import-rejected").inner_text() == "1"
    assert page.get_by_test_id("import-errors").get_by_text("not-an-email").is_visible()
    assert progress.get_attribute("aria-valuenow") == "100"

    page.get_by_role("link", name="К списку клиентов").click()
    page.get_by_placeholder("Email или имя").fill(tag)
    page.get_by_role("button", name="Найти").click()
    assert page.get_by_test_id("client-count").inner_text() == "250 клиентов"
    assert page.get_by_test_id("client-table").locator("tbody tr").count() == 50
    assert page.get_by_test_id("client-table").get_by_text(f"{tag}-000@example.com").is_visible()
    page.get_by_role("link", name="2", exact=True).click()
    assert re.search(r"page=2", page.url)
    assert page.get_by_test_id("client-table").get_by_text(f"{tag}-050@example.com").is_visible()

    # The export link streams the same filtered clients from the live server.
    export_path = page.get_by_test_id("export-link").get_attribute("href")
    status, first_bytes, text = page.evaluate(
        """async (path) => {
            const response = await fetch(path);
            const bytes = new Uint8Array(await response.arrayBuffer());
            return [response.status, Array.from(bytes.slice(0, 3)), new TextDecoder().decode(bytes)];
        }""",
        export_path,
    )
    assert status == 200 and first_bytes == [0xEF, 0xBB, 0xBF]
    assert text.startswith("email,") and text.count(f"{tag}-") == 250

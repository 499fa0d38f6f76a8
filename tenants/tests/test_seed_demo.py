"""`seed_demo` (run by `make run`) creates the demo users, workspace and content once."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_tenants.utils import schema_context

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenants.access import is_manager, workspace_role
from tenants.management.commands import seed_demo
from tenants.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site_on_port_8108(settings):
    settings.SITE_URL = "http://localhost:8108"


def run_seed():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def demo_counts():
    with schema_context("ws_demo"):
        return (
            Client.objects.count(),
            Client.objects.filter(is_subscribed=False).count(),
            Message.objects.count(),
            Mailing.objects.count(),
        )


def test_running_it_twice_creates_the_demo_content_once():
    run_seed()
    first = demo_counts()
    output = run_seed()

    assert demo_counts() == first == (30, 3, 1, 0)  # 30 clients, 3 unsubscribed, 1 message, no mailing
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert get_user_model().objects.filter(email__in=["demo@example.com", "manager@example.com"]).count() == 2
    assert "manager@example.com / rassylka-demo" in output
    assert "demo@example.com / rassylka-demo" in output
    assert "http://demo.localhost:8108/" in output


def test_it_prints_the_urls_with_the_port_of_site_url():
    output = run_seed()

    assert "Public site:     http://localhost:8108/" in output
    assert "Demo workspace:  http://demo.localhost:8108/" in output
    assert "http://localhost:8108/console/" in output


def test_the_demo_message_has_the_name_and_unsubscribe_placeholders():
    run_seed()

    with schema_context("ws_demo"):
        message = Message.objects.get()
    assert message.body_text.startswith("Здравствуйте, {{ name }}!")
    assert "Отписаться: {{ unsubscribe_url }}" in message.body_text


def test_unsubscribed_demo_clients_have_an_unsubscribe_time_and_names():
    run_seed()

    with schema_context("ws_demo"):
        clients = list(Client.objects.all())
    assert all(client.full_name for client in clients)
    assert all((client.unsubscribed_at is None) == client.is_subscribed for client in clients)


def test_the_demo_owner_owns_the_workspace_and_the_manager_oversees_it_without_csu():
    run_seed()
    User = get_user_model()
    owner, manager = User.objects.get(email="demo@example.com"), User.objects.get(email="manager@example.com")
    workspace = Workspace.objects.get(slug="demo")

    assert workspace_role(owner, workspace) == "owner"
    assert is_manager(manager) and not manager.is_superuser
    assert manager.check_password(seed_demo.DEMO_PASSWORD)


def test_the_demo_manager_signs_in_and_opens_the_console(public_client):
    run_seed()

    response = public_client.post(
        "/accounts/login/", {"login": "manager@example.com", "password": seed_demo.DEMO_PASSWORD}
    )

    assert response.status_code == 302
    page = public_client.get("/console/")
    assert page.status_code == 200 and 'data-testid="workspace-demo"' in page.content.decode()


def test_a_demo_client_changed_by_the_user_is_left_as_it_is():
    run_seed()
    with schema_context("ws_demo"):
        Client.objects.filter(email="client08@example.com").update(is_subscribed=True, unsubscribed_at=None)
        Client.objects.filter(email="client01@example.com").delete()

    run_seed()

    with schema_context("ws_demo"):
        assert Client.objects.get(email="client08@example.com").is_subscribed
        assert Client.objects.count() == 30  # a deleted demo client comes back; nothing is duplicated


def test_the_home_page_counts_the_demo_clients_at_once_and_only_once(home_figures):
    before = home_figures()[2]

    run_seed()
    assert home_figures()[2] == before + 30, "without waiting for the periodic recount"
    run_seed()

    assert home_figures()[2] == before + 30

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

    assert demo_counts() == first == (30, 3, 1, 2)  # 30 clients, 3 unsubscribed, 1 message, 2 mailings
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


def test_the_demo_blog_has_published_posts_with_pictures_and_the_home_page_shows_three(public_client):
    from shared_apps.blog.models import Post

    run_seed()
    run_seed()

    posts = Post.objects.filter(slug__startswith="demo-")
    assert posts.count() == len(seed_demo_posts())
    assert all(post.image and post.thumbnail and post.is_visible for post in posts)
    assert public_client.get("/").content.decode().count('data-testid="post-card"') == 3


def seed_demo_posts():
    from shared_apps.blog.demo import DEMO_POSTS

    return DEMO_POSTS


def test_the_demo_has_a_completed_mailing_with_its_report():
    from tenant_apps.delivery import reports
    from tenant_apps.delivery.models import Attempt, Delivery

    run_seed()
    run_seed()

    with schema_context("ws_demo"):
        sent = Mailing.objects.get(name=seed_demo.SENT_MAILING)
        run = reports.latest_run(sent)
        assert sent.status == Mailing.Status.COMPLETED
        assert sent.runs.count() == 1
        assert (run.sent, run.failed, run.pending, run.skipped) == (25, 2, 0, 3)
        assert Attempt.objects.filter(delivery__run=run).count() == 25 + 3  # one failed twice
        assert Attempt.objects.filter(delivery__run=run, permanent=True).count() == 2
        assert Delivery.objects.filter(run=run).count() == 30


def test_the_demo_has_a_mailing_scheduled_in_the_future():
    from django.utils import timezone

    from tenants.models import ScheduleEntry

    run_seed()

    with schema_context("ws_demo"):
        scheduled = Mailing.objects.get(name=seed_demo.SCHEDULED_MAILING)
        assert scheduled.status == Mailing.Status.CREATED and scheduled.start_at > timezone.now()
        assert not scheduled.runs.exists()
    entry = ScheduleEntry.objects.get(workspace__slug="demo", mailing_id=scheduled.pk)
    assert entry.next_run_at == scheduled.start_at


def test_the_home_page_counts_the_demo_clients_at_once_and_only_once(home_figures):
    before = home_figures()[2]

    run_seed()
    assert home_figures()[2] == before + 30, "without waiting for the periodic recount"
    run_seed()

    assert home_figures()[2] == before + 30

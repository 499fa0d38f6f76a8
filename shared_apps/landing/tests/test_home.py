"""The home page: right counts across workspaces, constant cost, Redis cache, random posts."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_post
from shared_apps.blog.models import Post
from shared_apps.landing.models import SiteStats, WorkspaceStats
from tenant_apps.campaigns import services as campaigns
from tenants.models import Workspace

from .conftest import add_clients, add_mailing

pytestmark = pytest.mark.django_db


def home_counts(client):
    response = client.get("/")
    assert response.status_code == 200
    counts = response.context["counts"]
    return counts["mailings_total"], counts["mailings_active"], counts["unique_clients"]


def make_posts(count, **fields):
    status = fields.get("status", Post.Status.PUBLISHED)
    return [
        make_post(
            f"{status} {n}",
            status,
            fields.get("published_at", timezone.now() - timedelta(hours=n + 1)),
            body="Text",
        )
        for n in range(count)
    ]


def test_home_page_counts_mailings_and_unique_clients_across_workspaces(
    public_client, workspace, other_workspace, refresh_stats
):
    # Browser journeys earlier in the session may have committed more (empty) workspaces.
    workspaces_with_schemas = Workspace.objects.exclude(schema_name="public").count()
    add_clients(workspace, "ann@example.com", "Bob@Example.com", "carl@example.com")
    add_clients(other_workspace, "bob@example.com", "ANN@example.com", "dora@example.com")
    add_mailing(workspace, status="running")
    add_mailing(workspace, status="running", is_paused=True)
    add_mailing(workspace, status="completed")
    add_mailing(other_workspace, status="running")
    add_mailing(other_workspace, status="running", disabled_by_manager=True)
    add_mailing(other_workspace, status="created")

    refresh_stats()

    # 6 mailings; running and neither paused nor disabled: 2; emails ann, bob, carl, dora
    assert home_counts(public_client) == (6, 2, 4)
    assert SiteStats.objects.get().workspaces == workspaces_with_schemas


def test_home_page_shows_the_counts(public_client, workspace, refresh_stats):
    add_mailing(workspace, status="running")
    add_clients(workspace, "reader@example.com")
    refresh_stats()

    response = public_client.get("/")

    assert b'data-testid="count-active">1<' in response.content
    assert b'data-testid="count-clients">1<' in response.content


def test_periodic_repair_is_scheduled_every_quarter_of_an_hour():
    from huey.contrib.djhuey import HUEY

    from shared_apps.landing.tasks import refresh_site_stats

    assert refresh_site_stats.task_class in HUEY._registry._periodic_tasks
    runs = [refresh_site_stats.s().validate_datetime(timezone.datetime(2026, 1, 1, 10, m)) for m in range(60)]
    assert runs.count(True) == 4


def test_saving_a_mailing_in_a_workspace_updates_the_count_and_the_cache(
    public_client, workspace, django_capture_on_commit_callbacks
):
    assert home_counts(public_client) == (0, 0, 0)  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        # Starting tomorrow, so the engine (which runs on commit) leaves its status alone.
        mailing = add_mailing(workspace, status="running", start_at=timezone.now() + timedelta(days=1))

    assert home_counts(public_client) == (1, 1, 0)

    with django_capture_on_commit_callbacks(execute=True), schema_context(workspace.schema_name):
        campaigns.pause_mailing(mailing)

    assert home_counts(public_client) == (1, 0, 0)

    with django_capture_on_commit_callbacks(execute=True), schema_context(workspace.schema_name):
        campaigns.delete_mailing(mailing)

    assert home_counts(public_client) == (0, 0, 0)


def test_a_mailing_change_is_not_seen_before_commit(public_client, workspace, django_capture_on_commit_callbacks):
    home_counts(public_client)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        add_mailing(workspace, status="running")

    assert home_counts(public_client) == (0, 0, 0)
    assert any("mailings_changed" in c.__qualname__ for c in callbacks), "the recount waits for the commit"


def test_active_mailing_count_comes_from_redis_on_the_second_request(public_client, workspace):
    WorkspaceStats.objects.create(workspace=workspace, mailings_total=5, mailings_active=3, counted_at=timezone.now())
    assert home_counts(public_client)[1] == 3

    # Changed behind the services' back: the cached figure is still served.
    WorkspaceStats.objects.filter(workspace=workspace).update(mailings_active=4)

    assert home_counts(public_client)[1] == 3


def test_cache_key_is_shared_by_the_public_site_and_the_workspaces(workspace):
    from shared_apps.landing.services import active_mailings_count

    WorkspaceStats.objects.create(workspace=workspace, mailings_total=2, mailings_active=2, counted_at=timezone.now())
    with schema_context(workspace.schema_name):
        assert active_mailings_count() == 2
    WorkspaceStats.objects.filter(workspace=workspace).update(mailings_active=7)

    assert active_mailings_count() == 2  # the workspace's call filled the public key


def test_second_request_makes_fewer_queries(public_client):
    make_posts(3)

    # Counted at once: Django empties the query log when the next request starts.
    with CaptureQueriesContext(connection) as first:
        public_client.get("/")
    uncached = len(first)
    with CaptureQueriesContext(connection) as second:
        public_client.get("/")
    cached = len(second)

    assert cached < uncached
    assert not any("blog_post" in query["sql"] or "mailings_active" in query["sql"] for query in second)


def add_workspace_rows(count):
    """Workspace rows with their stats but no schema: the page must never look at schemas."""
    workspaces = Workspace.objects.bulk_create(
        Workspace(name=f"Bulk {n}", slug=f"bulk-{n}", schema_name=f"ws_bulk_{n}") for n in range(count)
    )
    WorkspaceStats.objects.bulk_create(
        WorkspaceStats(workspace=ws, mailings_total=2, mailings_active=1, counted_at=timezone.now())
        for ws in workspaces
    )


def test_query_count_does_not_grow_with_the_number_of_workspaces(public_client, django_assert_max_num_queries):
    make_posts(3)
    with CaptureQueriesContext(connection) as few:
        public_client.get("/")
    queries_with_two_workspaces = len(few)  # counted now: the next request empties the log

    add_workspace_rows(300)
    cache.clear()  # cold again, as for the first measure
    with django_assert_max_num_queries(queries_with_two_workspaces):
        response = public_client.get("/")

    assert response.context["counts"]["mailings_total"] == 600
    assert response.context["counts"]["mailings_active"] == 300


def test_home_page_makes_a_fixed_handful_of_queries(public_client, django_assert_max_num_queries):
    make_posts(5)

    # The host's domain, the totals, the active count, the posts, the next scheduled post;
    # django-tenants sends a `SET search_path` before each (TENANT_LIMIT_SET_CALLS is off).
    with django_assert_max_num_queries(10):
        public_client.get("/")
    # cached: the domain and the totals
    with django_assert_max_num_queries(4):
        public_client.get("/")


def test_three_random_posts_come_from_published_ones_only(public_client):
    published = {post.title for post in make_posts(5)}
    make_posts(2, status=Post.Status.DRAFT)
    make_posts(2, published_at=timezone.now() + timedelta(days=1))

    seen = set()
    for _ in range(20):
        titles = [post["title"] for post in public_client.get("/").context["posts"]]
        assert len(titles) == len(set(titles)) == 3
        assert set(titles) <= published
        seen.update(titles)

    assert len(seen) > 3  # not always the same three


def test_publishing_a_post_refreshes_the_cached_posts(public_client, django_capture_on_commit_callbacks):
    (draft,) = make_posts(1, status=Post.Status.DRAFT)
    assert public_client.get("/").context["posts"] == []

    with django_capture_on_commit_callbacks(execute=True):
        draft.status = Post.Status.PUBLISHED
        draft.save()

    assert [post["title"] for post in public_client.get("/").context["posts"]] == [draft.title]


def test_deleting_a_post_removes_it_from_the_home_page(public_client, django_capture_on_commit_callbacks):
    (post,) = make_posts(1)
    assert len(public_client.get("/").context["posts"]) == 1

    with django_capture_on_commit_callbacks(execute=True):
        post.delete()

    assert public_client.get("/").context["posts"] == []


def test_a_scheduled_post_appears_on_the_home_page_when_its_time_comes(public_client, time_machine):
    (scheduled,) = make_posts(1, published_at=timezone.now() + timedelta(minutes=10))
    assert public_client.get("/").context["posts"] == []

    time_machine.move_to(timezone.now() + timedelta(minutes=11))

    assert [post["title"] for post in public_client.get("/").context["posts"]] == [scheduled.title]


def test_home_page_is_in_russian_and_english(public_client):
    russian = public_client.get("/").content.decode()
    english = public_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Как это работает" in russian
    assert "How it works" in english


def test_periodic_refresh_skips_a_workspace_whose_schema_is_not_there_yet(workspace, refresh_stats):
    workspaces_with_schemas = Workspace.objects.exclude(schema_name="public").count()
    Workspace.objects.bulk_create([Workspace(name="Half-made", slug="half-made", schema_name="ws_half_made")])
    add_mailing(workspace, status="running")

    refresh_stats()

    assert SiteStats.objects.get().workspaces == workspaces_with_schemas
    assert WorkspaceStats.objects.get(workspace=workspace).mailings_active == 1
    assert not WorkspaceStats.objects.filter(workspace__slug="half-made").exists()


def test_periodic_refresh_started_inside_a_workspace_schema_still_fills_the_public_tables(
    workspace, other_workspace, refresh_stats
):
    add_clients(other_workspace, "only@example.com")

    with schema_context(workspace.schema_name):
        refresh_stats()

    assert SiteStats.objects.get().unique_clients == 1


def test_the_periodic_recount_repairs_recipient_counts_that_went_around_the_services(
    workspace, other_workspace, refresh_stats, home_figures
):
    from shared_apps.landing import counters
    from shared_apps.landing.models import RecipientEmail

    refresh_stats()
    add_clients(workspace, "missed@example.com", "Both@example.com")  # bulk_create: no counter call
    add_clients(other_workspace, "both@example.com")
    with schema_context(workspace.schema_name):
        counters.recipients_added(["ghost@example.com"])  # counted, but no such client
    before = home_figures()[2]

    refresh_stats()

    assert home_figures()[2] == before + 1  # + missed, + both, - ghost
    assert RecipientEmail.objects.get(email="both@example.com").refs == 2
    assert not RecipientEmail.objects.filter(email="ghost@example.com").exists()

    with schema_context(workspace.schema_name):
        counters.recipients_removed(["both@example.com"])
    assert home_figures()[2] == before + 1, "globex still has it"


def test_the_periodic_recount_reads_the_schemas_a_few_at_a_time_with_the_same_figures(
    workspace, other_workspace, refresh_stats, home_figures, monkeypatch
):
    """One statement over every schema fails near 10,000 workspaces; one schema per statement gives the same sums."""
    from shared_apps.landing.models import RecipientEmail
    from tenants import crossschema

    add_clients(workspace, "Shared@example.com", "acme-only@example.com")
    add_clients(other_workspace, "shared@example.com")
    add_mailing(other_workspace, status="running")
    refresh_stats()
    whole = (home_figures(), WorkspaceStats.objects.get(workspace=other_workspace).mailings_active)
    RecipientEmail.objects.all().delete()
    WorkspaceStats.objects.all().delete()
    monkeypatch.setattr(crossschema, "SCHEMAS_PER_STATEMENT", 1)

    refresh_stats()

    assert (home_figures(), WorkspaceStats.objects.get(workspace=other_workspace).mailings_active) == whole
    assert RecipientEmail.objects.get(email="shared@example.com").refs == 2

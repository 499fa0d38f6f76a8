"""Every mailing across the workspaces a manager oversees, and the disable/enable toggle."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.campaigns.models import Mailing

from .helpers import public_url


def listed(response):
    """(workspace slug, mailing name) of the rows on the page, in order."""
    return [(row.workspace.slug, row.name) for row in response.context["page"]]


def test_manager_sees_mailings_of_every_workspace_newest_start_first(
    console_client, workspace, other_workspace, make_mailing
):
    make_mailing(workspace, "acme-later", start_in_hours=30)
    make_mailing(other_workspace, "globex-middle", start_in_hours=20)
    make_mailing(workspace, "acme-soon", start_in_hours=10)

    response = console_client.get(public_url("console:mailings"), {"name": "-"})

    assert response.status_code == 200
    assert listed(response) == [("acme", "acme-later"), ("globex", "globex-middle"), ("acme", "acme-soon")]
    assert "globex-middle" in response.content.decode()


def test_workspace_filter_lists_only_that_workspace(console_client, workspace, other_workspace, make_mailing):
    make_mailing(workspace, "in-acme")
    make_mailing(other_workspace, "in-globex")

    response = console_client.get(public_url("console:mailings"), {"workspace": "globex", "name": "in-"})

    assert listed(response) == [("globex", "in-globex")]


def test_status_filter(console_client, workspace, other_workspace, make_mailing):
    make_mailing(workspace, "st-created")
    make_mailing(workspace, "st-running", status=Mailing.Status.RUNNING)
    make_mailing(other_workspace, "st-running-too", status=Mailing.Status.RUNNING, start_in_hours=5)

    response = console_client.get(public_url("console:mailings"), {"status": "running", "name": "st-"})

    assert listed(response) == [("globex", "st-running-too"), ("acme", "st-running")]


def test_list_is_paginated_in_order_across_schemas(
    console_client, workspace, other_workspace, make_mailing, monkeypatch
):
    monkeypatch.setattr("shared_apps.console.views.PER_PAGE", 2)
    for hours, ws in enumerate([workspace, other_workspace, workspace, other_workspace, workspace], start=1):
        make_mailing(ws, f"page-{hours}", start_in_hours=hours)

    pages = [console_client.get(public_url("console:mailings"), {"name": "page-", "page": n}) for n in (1, 2, 3)]

    assert [listed(page) for page in pages] == [
        [("acme", "page-5"), ("globex", "page-4")],
        [("acme", "page-3"), ("globex", "page-2")],
        [("acme", "page-1")],
    ]
    assert pages[0].context["page"].paginator.count == 5


def test_listing_costs_the_same_queries_however_many_mailings(console_client, workspace, other_workspace, make_mailing):
    make_mailing(workspace, "cost-1")
    console_client.get(public_url("console:mailings"))  # warm: the host lookup is cached after the first request
    with CaptureQueriesContext(connection) as few:
        console_client.get(public_url("console:mailings"), {"name": "cost-"})
    for n in range(2, 8):
        make_mailing(other_workspace if n % 2 else workspace, f"cost-{n}")
    with CaptureQueriesContext(connection) as many:
        response = console_client.get(public_url("console:mailings"), {"name": "cost-"})

    assert len(response.context["page"]) == 7
    assert len(many) == len(few)
    index = [q["sql"] for q in many.captured_queries if "console_mailingindex" in q["sql"]]
    assert len(index) == 2  # the count and the page, on the public index
    assert not any("campaigns_mailing" in q["sql"] for q in many.captured_queries)


def test_name_filter_treats_wildcards_literally(console_client, workspace, make_mailing):
    make_mailing(workspace, "100% off")
    make_mailing(workspace, "1000 offers")

    response = console_client.get(public_url("console:mailings"), {"name": "0% o"})

    assert listed(response) == [("acme", "100% off")]


def test_disabling_flips_the_flag_in_that_workspace_only(
    console_client, workspace, other_workspace, make_mailing, reload_mailing
):
    # The same id in both schemas: the toggle must touch globex's row only.
    make_mailing(workspace, "acme twin", id=900001)
    make_mailing(other_workspace, "globex twin", id=900001)

    response = console_client.post(public_url("console:disable_mailing", "globex", 900001))

    assert response.status_code == 302
    assert reload_mailing(other_workspace, 900001).disabled_by_manager is True
    assert reload_mailing(workspace, 900001).disabled_by_manager is False


def test_disabling_hands_the_mailing_to_the_delivery_services_in_its_own_schema(
    console_client, other_workspace, make_mailing
):
    from tenant_apps.delivery import services as delivery
    from tenants.models import ScheduleEntry

    mailing = make_mailing(other_workspace, "scheduled")
    with schema_context(other_workspace.schema_name):
        delivery.mailing_changed(mailing)
    entry = ScheduleEntry.objects.filter(workspace=other_workspace, mailing_id=mailing.pk)
    assert entry.exists()

    console_client.post(public_url("console:disable_mailing", "globex", mailing.pk))

    assert not entry.exists(), "taken out of the schedule index"
    with schema_context(other_workspace.schema_name):
        assert Mailing.objects.get(pk=mailing.pk).is_halted


def test_manager_enables_a_disabled_mailing(console_client, workspace, make_mailing, reload_mailing):
    mailing = make_mailing(workspace, "was disabled", disabled_by_manager=True)

    response = console_client.post(public_url("console:enable_mailing", "acme", mailing.pk), follow=True)

    assert reload_mailing(workspace, mailing.pk).disabled_by_manager is False
    assert "was disabled" in str(list(response.context["messages"])[0])


def test_disabled_mailing_shows_a_badge_and_an_enable_button(console_client, workspace, make_mailing):
    mailing = make_mailing(workspace, "badge me", disabled_by_manager=True)

    html = console_client.get(public_url("console:mailings"), {"name": "badge me"}).content.decode()

    assert 'data-testid="disabled-badge"' in html
    assert public_url("console:enable_mailing", "acme", mailing.pk) in html


def test_toggle_returns_to_the_list_it_came_from_but_never_off_site(console_client, workspace, make_mailing):
    mailing = make_mailing(workspace, "back")
    back = public_url("console:mailings") + "?workspace=acme"

    same_site = console_client.post(public_url("console:disable_mailing", "acme", mailing.pk), {"next": back})
    off_site = console_client.post(
        public_url("console:enable_mailing", "acme", mailing.pk), {"next": "https://evil.example/"}
    )

    assert same_site.url == back
    assert off_site.url == public_url("console:mailings")


def test_unknown_mailing_gets_404(console_client):
    assert console_client.post(public_url("console:disable_mailing", "acme", 987654321)).status_code == 404


def test_unknown_workspace_gets_404(console_client):
    assert console_client.post(public_url("console:disable_mailing", "no-such-place", 1)).status_code == 404


class TestScopedManager:
    @pytest.fixture
    def client(self, public_client, scoped_manager):
        public_client.force_login(scoped_manager)
        return public_client

    def test_sees_only_mailings_of_their_workspace(self, client, workspace, other_workspace, make_mailing):
        make_mailing(workspace, "scope-acme")
        make_mailing(other_workspace, "scope-globex")

        response = client.get(public_url("console:mailings"), {"name": "scope-"})

        assert listed(response) == [("acme", "scope-acme")]
        assert "scope-globex" not in response.content.decode()

    def test_cannot_filter_on_another_workspace(self, client, other_workspace, make_mailing):
        make_mailing(other_workspace, "globex-secret")

        response = client.get(public_url("console:mailings"), {"workspace": "globex"})

        assert response.context["page"] is None
        assert response.context["form"].errors["workspace"]
        assert "globex-secret" not in response.content.decode()

    def test_disabling_a_mailing_of_another_workspace_gets_404(
        self, client, other_workspace, make_mailing, reload_mailing
    ):
        mailing = make_mailing(other_workspace, "not theirs")

        response = client.post(public_url("console:disable_mailing", "globex", mailing.pk))

        assert response.status_code == 404
        assert reload_mailing(other_workspace, mailing.pk).disabled_by_manager is False

    def test_disables_a_mailing_of_their_workspace(self, client, workspace, make_mailing, reload_mailing):
        mailing = make_mailing(workspace, "theirs")

        client.post(public_url("console:disable_mailing", "acme", mailing.pk))

        assert reload_mailing(workspace, mailing.pk).disabled_by_manager is True


def test_mailing_name_opens_the_mailing_in_its_workspace(console_client, workspace, make_mailing):
    make_mailing(workspace, "acme-linked")

    response = console_client.get(public_url("console:mailings"), {"name": "acme-linked"})

    row = response.context["page"][0]
    assert f'href="/open/acme/?next=/mailings/{row.mailing_id}/"' in response.content.decode()


def test_disabling_a_sending_mailing_takes_it_off_the_home_pages_sending_now(
    console_client, workspace, make_mailing, home_figures, django_capture_on_commit_callbacks
):
    from shared_apps.landing import counters

    with django_capture_on_commit_callbacks(execute=True), schema_context(workspace.schema_name):
        mailing = make_mailing(workspace, name="Live", status="running")
        counters.mailings_changed()  # what the engine calls when it sets the status
    total, active, _unique = home_figures()

    with django_capture_on_commit_callbacks(execute=True):
        console_client.post(public_url("console:disable_mailing", "acme", mailing.pk))

    assert home_figures()[:2] == (total, active - 1)

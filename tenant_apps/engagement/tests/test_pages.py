"""Pages: the tracking switches (owners), the reports, the client's activity and history."""

import datetime as dt
import re
from html import escape

import pytest
from django.utils import timezone

from conftest import host_client
from tenant_apps.engagement.drain import drain
from tenant_apps.engagement.models import TrackingSettings

from .conftest import click_urls, path_of, pixel_url

CHROME = "Mozilla/5.0 (Windows NT 10.0) Chrome/140.0"


@pytest.fixture
def engaged(in_workspace, sent_mailing):
    """A mailing to 4: one opened and clicked, one only opened, one opened by Apple's proxy, one nothing."""
    mailing, run, messages = sent_mailing(4)
    run.deliveries.update(finished_at=timezone.now() - dt.timedelta(hours=1))
    browser = host_client(in_workspace.host)
    first, second, third, _fourth = (messages[email] for email in sorted(messages))
    browser.get(path_of(pixel_url(first)), HTTP_USER_AGENT=CHROME)
    browser.get(path_of(click_urls(first)[0]), HTTP_USER_AGENT=CHROME)
    browser.get(path_of(pixel_url(second)), HTTP_USER_AGENT=CHROME)
    browser.get(path_of(pixel_url(third)), HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.0.0.9")
    drain()
    return mailing, run


def test_new_workspace_tracks_nothing_until_an_owner_turns_it_on(in_workspace, member_factory):
    assert not TrackingSettings.objects.exists()
    owner = host_client(in_workspace.host, member_factory(in_workspace, "owner"))
    page = owner.get("/engagement/settings/")
    assert page.status_code == 200
    body = page.content.decode()
    for field in page.context["form"].fields.values():  # what each switch means for recipients' privacy
        assert escape(str(field.help_text)) in body
    response = owner.post("/engagement/settings/", {"track_opens": "on"})
    assert response.status_code == 302
    current = TrackingSettings.objects.get()
    assert (current.track_opens, current.track_clicks) == (True, False)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_see_the_tracking_switches(in_workspace, member_factory, role):
    client = host_client(in_workspace.host, member_factory(in_workspace, role))
    assert client.get("/engagement/settings/").status_code == 404
    assert client.post("/engagement/settings/", {"track_opens": "on"}).status_code == 404
    assert not TrackingSettings.objects.exists()


def test_member_of_other_workspace_gets_404_on_the_switches(in_workspace, other_workspace, member_factory):
    stranger = host_client(in_workspace.host, member_factory(other_workspace, "owner"))
    assert stranger.get("/engagement/settings/").status_code == 404


def test_mailing_report_shows_people_and_machines_ctr_cto_and_links(in_workspace, engaged, member_factory):
    mailing, _run = engaged
    viewer = host_client(in_workspace.host, member_factory(in_workspace, "viewer"))
    page = viewer.get(f"/delivery/mailings/{mailing.pk}/")
    assert page.status_code == 200
    figures = page.context["engagement"]
    assert (figures["delivered"], figures["opens"], figures["clicks"]) == (4, 2, 1)
    assert (figures["machine_opens"], figures["machine_clicks"]) == (1, 0)
    assert (figures["ctr"], figures["cto"], figures["open_rate"]) == (25.0, 50.0, 50.0)
    assert page.context["engagement_links"] == [
        {"url": "https://shop.example/sale?ref=mail", "people": 1, "clicks": 1, "machines": 0}
    ]
    assert sum(page.context["hit_series"]["opens"]) == 2 and sum(page.context["hit_series"]["clicks"]) == 1
    html = page.content.decode()
    assert 'data-testid="unique-opens">2<' in html and re.search(r'data-testid="ctr">25[.,]0 %<', html)
    assert 'id="hits-series"' in html


def test_dashboard_shows_the_last_30_days_rates(in_workspace, engaged, member_factory):
    viewer = host_client(in_workspace.host, member_factory(in_workspace, "viewer"))
    page = viewer.get("/")
    figures = page.context["engagement"]
    assert (figures["open_rate"], figures["ctr"]) == (50.0, 25.0)
    assert re.search(r'data-testid="open-rate">50[.,]0 %<', page.content.decode())


def test_client_page_shows_last_open_and_click_and_links_to_the_history(in_workspace, engaged, member_factory):
    from tenant_apps.audience.models import Client

    _mailing, run = engaged
    clicker = Client.objects.get(pk=sorted(run.deliveries.all(), key=lambda d: d.email)[0].client_id)
    assert clicker.last_opened_at is not None and clicker.last_clicked_at is not None
    viewer = host_client(in_workspace.host, member_factory(in_workspace, "viewer"))
    page = viewer.get(f"/clients/{clicker.pk}/")
    assert [hit.kind for hit in page.context["tracking_hits"]] == ["click", "open"]
    history = viewer.get(f"/engagement/clients/{clicker.pk}/")
    assert history.status_code == 200
    body = history.content.decode()
    assert "127.0.0.0/24" in body and "Chrome" in body and "127.0.0.1" not in body


def test_tracking_history_of_another_workspace_is_404(in_workspace, engaged, other_workspace, member_factory):
    from tenant_apps.audience.models import Client

    client_id = Client.objects.order_by("pk").first().pk
    stranger = host_client(other_workspace.host, member_factory(other_workspace, "owner"))
    # globex has no such client: its own schema is looked up, never acme's.
    assert stranger.get(f"/engagement/clients/{client_id + 10**6}/").status_code == 404
    outsider = host_client(in_workspace.host, member_factory(other_workspace, "owner"))
    assert outsider.get(f"/engagement/clients/{client_id}/").status_code == 404


def test_mailing_form_has_per_mailing_tracking_switches(in_workspace, member_factory):
    editor = host_client(in_workspace.host, member_factory(in_workspace, "editor"))
    page = editor.get("/mailings/new/")
    body = page.content.decode()
    assert 'name="track_opens"' in body and 'name="track_clicks"' in body and 'name="add_utm"' in body

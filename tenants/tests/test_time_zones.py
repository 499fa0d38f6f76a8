"""Each request shows dates in its reader's zone: the workspace's on its host, the user's on the public site."""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone
from guardian.shortcuts import assign_perm

from tenant_apps.audience.models import Client
from tenants.middleware import TimeZoneMiddleware

# 2031-03-04 03:17 UTC is 12:17 in Tokyo, 22:17 (the day before) in New York, 6:17 in Moscow.
MOMENT = datetime.datetime(2031, 3, 4, 3, 17, tzinfo=datetime.UTC)


def saved_client_at(moment):
    client = Client.objects.create(email="zone@example.com")
    Client.objects.filter(pk=client.pk).update(created=moment)
    return client


def test_workspace_page_shows_times_in_the_workspace_zone_not_the_users(in_workspace, member_factory, workspace_client):
    workspace = in_workspace
    workspace.time_zone = "Asia/Tokyo"
    workspace.save(update_fields=["time_zone"])
    owner = member_factory(workspace, "owner", time_zone="America/New_York")
    client = saved_client_at(MOMENT)
    workspace_client.force_login(owner)

    page = workspace_client.get(f"/clients/{client.pk}/").content.decode()

    assert "12:17" in page
    assert "22:17" not in page and "6:17" not in page


def test_public_page_shows_times_in_the_signed_in_users_zone(workspace, user_factory, public_client):
    workspace.time_zone = "America/New_York"
    workspace.save(update_fields=["time_zone"])
    type(workspace).objects.filter(pk=workspace.pk).update(created=MOMENT)
    scoped_manager = user_factory(time_zone="Asia/Tokyo")
    assign_perm("tenants.oversee_workspace", scoped_manager, workspace)
    public_client.force_login(scoped_manager)

    page = public_client.get("/console/").content.decode()

    assert "04.03.2031 12:17" in page


def test_anonymous_visitor_gets_the_default_zone(workspace):
    seen = []
    request = RequestFactory().get("/")
    request.tenant = type(workspace).objects.get(schema_name="public")
    request.user = AnonymousUser()

    TimeZoneMiddleware(lambda r: seen.append(timezone.get_current_timezone_name()))(request)

    assert seen == [settings.TIME_ZONE]


def test_unknown_zone_name_falls_back_to_the_default(user_factory):
    seen = []
    request = RequestFactory().get("/")
    request.user = user_factory(time_zone="Mars/Olympus_Mons")

    TimeZoneMiddleware(lambda r: seen.append(timezone.get_current_timezone_name()))(request)

    assert seen == [settings.TIME_ZONE]


def test_the_zone_does_not_outlive_its_request(user_factory):
    request = RequestFactory().get("/")
    request.user = user_factory(time_zone="Asia/Tokyo")
    seen = []

    TimeZoneMiddleware(lambda r: seen.append(timezone.get_current_timezone_name()))(request)

    assert seen == ["Asia/Tokyo"]
    assert timezone.get_current_timezone() == zoneinfo.ZoneInfo(settings.TIME_ZONE)


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_zone_of_the_workspace_applies_to_every_member(zone, in_workspace, member_factory, workspace_client):
    in_workspace.time_zone = zone
    in_workspace.save(update_fields=["time_zone"])
    viewer = member_factory(in_workspace, "viewer")
    client = saved_client_at(MOMENT)
    workspace_client.force_login(viewer)

    page = workspace_client.get(f"/clients/{client.pk}/").content.decode()

    assert timezone.localtime(MOMENT, zoneinfo.ZoneInfo(zone)).strftime("%H:%M") in page
    assert "6:17" not in page

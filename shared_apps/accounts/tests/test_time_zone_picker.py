"""Time-zone pickers offer canonical zones grouped by region with their UTC offset."""

import re
import zoneinfo
from datetime import UTC, datetime

import pytest
from django.utils import translation

from shared_apps.accounts.timezones import canonical_zones, time_zone_choices, utc_offset


def regions():
    """{English region name: [(zone, label), ...]}."""
    with translation.override("en"):
        return {str(group): options for group, options in time_zone_choices()[1:]}


def option_values(choices):
    return [value for _group, options in choices[1:] for value, _label in options] + [choices[0][0]]


def test_aliases_are_not_offered():
    offered = set(option_values(time_zone_choices()))

    assert {"Factory", "W-SU", "Navajo", "US/Eastern", "Etc/GMT+3"}.isdisjoint(offered)
    assert {"Europe/Moscow", "Asia/Yekaterinburg", "America/New_York", "UTC"} <= offered
    assert len(offered) < 450


def test_zones_are_grouped_by_region_with_their_offset():
    choices = regions()

    europe = dict(choices["Europe"])
    assert europe["Europe/Moscow"] == f"({utc_offset('Europe/Moscow')}) Moscow"
    assert re.fullmatch(
        r"\(UTC[+−]\d\d:\d\d\) Argentina — Buenos Aires", dict(choices["America"])["America/Argentina/Buenos_Aires"]
    )


def test_zones_in_a_region_are_ordered_by_offset():
    now = datetime.now(UTC)
    asia = [name for name, _label in regions()["Asia"]]

    offsets = [now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() for name in asia]
    assert offsets == sorted(offsets)


def test_offsets_are_written_with_sign_hours_and_minutes():
    winter = datetime(2026, 1, 15, tzinfo=UTC)

    assert utc_offset("Asia/Kolkata", winter) == "UTC+05:30"
    assert utc_offset("America/New_York", winter) == "UTC−05:00"
    assert utc_offset("UTC", winter) == "UTC+00:00"


def test_a_stored_alias_stays_selectable_so_an_old_profile_can_be_saved():
    choices = time_zone_choices("W-SU")

    assert choices[-1][1] == [("W-SU", f"({utc_offset('W-SU')}) W-SU")]
    assert "W-SU" not in canonical_zones()


@pytest.fixture
def signed_in(public_client, user_factory):
    user = user_factory()
    public_client.force_login(user)
    return user


def test_profile_page_shows_the_grouped_picker(public_client, signed_in):
    page = public_client.get("/profile/").content.decode()

    assert '<optgroup label="Европа">' in page
    assert 'value="Europe/Moscow" selected' in page
    assert 'value="Navajo"' not in page and 'value="Factory"' not in page


def test_profile_refuses_an_alias_that_is_not_offered(public_client, signed_in):
    response = public_client.post("/profile/", {"full_name": "", "phone": "", "time_zone": "Navajo", "language": "ru"})

    assert response.status_code == 400 and response.context["form"].errors["time_zone"]


def test_workspace_settings_show_the_grouped_picker(workspace, workspace_client, member_factory):
    workspace_client.force_login(member_factory(workspace, "owner"))

    page = workspace_client.get("/workspace/settings/").content.decode()

    assert '<optgroup label="Азия">' in page and 'value="Asia/Tokyo"' in page
    assert 'value="W-SU"' not in page

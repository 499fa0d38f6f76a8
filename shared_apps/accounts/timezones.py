"""The time-zone picker: canonical zones grouped by region, each with its UTC offset.

`zoneinfo.available_timezones()` also lists ~180 backward-compatible aliases
(`W-SU`, `Navajo`, `Factory`, `US/Eastern`); people pick from the zones of
the tz database's `zone.tab` (one or more per country) instead. A stored
name outside that list (an alias saved earlier) is still accepted and shown,
so an old profile can be saved without changing its zone.
"""

import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

REGIONS = {
    "Africa": _("Africa"),
    "America": _("America"),
    "Antarctica": _("Antarctica"),
    "Arctic": _("Arctic"),
    "Asia": _("Asia"),
    "Atlantic": _("Atlantic Ocean"),
    "Australia": _("Australia"),
    "Europe": _("Europe"),
    "Indian": _("Indian Ocean"),
    "Pacific": _("Pacific Ocean"),
}


@lru_cache(maxsize=1)
def canonical_zones() -> frozenset[str]:
    """Zone names from the tz database's zone.tab, or (no such file) every region/city name."""
    available = zoneinfo.available_timezones()
    for directory in zoneinfo.TZPATH:
        table = Path(directory) / "zone.tab"
        if table.is_file():
            names = {
                line.split("\t")[2].strip()
                for line in table.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#")
            }
            return frozenset((names & available) | {"UTC"})
    return frozenset(
        name for name in available if name.split("/", 1)[0] in REGIONS and "/" in name and "GMT" not in name
    ) | {"UTC"}


def utc_offset(name: str, now: datetime | None = None) -> str:
    """The zone's offset now, "UTC+03:00"."""
    offset = (now or datetime.now(UTC)).astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _zone_label(name: str, now: datetime) -> str:
    city = name.split("/", 1)[1] if "/" in name else name
    return f"({utc_offset(name, now)}) {city.replace('_', ' ').replace('/', ' — ')}"


def _offset_minutes(name: str, now: datetime) -> int:
    return int(now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset().total_seconds() // 60)


def time_zone_choices(current: str = "") -> list:
    """Grouped choices for a ChoiceField: [(region, [(name, "(UTC+03:00) Moscow"), ...]), ...].

    Regions in alphabetical order, zones by offset then name; "UTC" first; the
    `current` value is kept (under "Other") when it is a valid name outside the list.
    """
    now = datetime.now(UTC)
    groups: dict[str, list[str]] = {}
    for name in canonical_zones() - {"UTC"}:
        groups.setdefault(name.split("/", 1)[0], []).append(name)
    choices: list = [("UTC", "(UTC+00:00) UTC")]
    for region in sorted(groups):
        zones = sorted(groups[region], key=lambda name: (_offset_minutes(name, now), name))
        choices.append((REGIONS.get(region, region), [(name, _zone_label(name, now)) for name in zones]))
    if current and current not in canonical_zones() and current in zoneinfo.available_timezones():
        choices.append((_("Other"), [(current, f"({utc_offset(current, now)}) {current}")]))
    return choices

"""Template filters for moments, in the page's language (`{% load dates %}`).

The formats themselves are in saas/formats/<language>/formats.py.
"""

from django import template
from django.utils import timezone
from django.utils.formats import date_format, get_format

register = template.Library()


def with_seconds(format_string: str) -> str:
    """The language's date-time format with seconds after the minutes."""
    return format_string.replace("H:i", "H:i:s", 1)


@register.filter
def moment_seconds(value):
    """A moment to the second, for logs: "30.11.2026 21:57:01" / "30 Nov 2026, 21:57:01"."""
    if not value:
        return ""
    return date_format(timezone.localtime(value), with_seconds(get_format("DATETIME_FORMAT")))


def chart_label_format(bucket: str) -> str:
    """How a chart bar is labelled: the day ("30.11" / "30 Nov"), plus the hour for hourly bars."""
    day = get_format("MONTH_DAY_FORMAT")
    return day if bucket == "day" else f"{day} {get_format('TIME_FORMAT')}"

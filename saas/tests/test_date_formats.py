"""One date-time format per language on every page, chart and log."""

from datetime import UTC, datetime

from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.formats import date_format

from saas.dates import chart_label_format

MOMENT = datetime(2026, 3, 12, 21, 57, 1, tzinfo=UTC)


def render(text, **context):
    return Template("{% load dates %}" + text).render(Context(context))


def test_english_writes_a_moment_day_first_with_the_month_name_and_a_24_hour_clock():
    with translation.override("en"), timezone.override(UTC):
        assert date_format(MOMENT, "DATETIME_FORMAT") == "12 Mar 2026, 21:57"
        assert date_format(MOMENT, "SHORT_DATETIME_FORMAT") == "12 Mar 2026, 21:57"
        assert render('{{ m|date:"SHORT_DATETIME_FORMAT" }}', m=MOMENT) == "12 Mar 2026, 21:57"


def test_russian_writes_a_moment_as_day_month_year_and_a_24_hour_clock():
    with translation.override("ru"), timezone.override(UTC):
        assert date_format(MOMENT, "DATETIME_FORMAT") == "12.03.2026 21:57"
        assert date_format(MOMENT, "SHORT_DATETIME_FORMAT") == "12.03.2026 21:57"


def test_logs_show_the_same_format_with_seconds():
    with timezone.override(UTC):
        with translation.override("en"):
            assert render("{{ m|moment_seconds }}", m=MOMENT) == "12 Mar 2026, 21:57:01"
        with translation.override("ru"):
            assert render("{{ m|moment_seconds }}", m=MOMENT) == "12.03.2026 21:57:01"


def test_chart_labels_follow_the_language():
    with translation.override("en"):
        assert date_format(MOMENT, chart_label_format("day")) == "12 Mar"
        assert date_format(MOMENT, chart_label_format("hour")) == "12 Mar 21:57"
    with translation.override("ru"):
        assert date_format(MOMENT, chart_label_format("day")) == "12.03"
        assert date_format(MOMENT, chart_label_format("hour")) == "12.03 21:57"

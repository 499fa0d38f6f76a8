"""Filters of the report pages (GET forms: they choose what to show, never change data)."""

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .models import Attempt
from .reports import DEFAULT_PERIOD, decode_cursor


class ChartForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("2d", _("last 48 hours, by hour")),
            ("30d", _("last 30 days, by day")),
            ("90d", _("last 90 days, by day")),
        ],
    )

    def chosen_period(self, default=DEFAULT_PERIOD):
        """The period to show: the chosen one, or `default` when none or an unknown one is asked for."""
        period = self.cleaned_data.get("period") if self.is_valid() else None
        return period or default


class RunChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, run):
        return date_format(timezone.localtime(run.scheduled_for), "DATETIME_FORMAT")


class AttemptFilterForm(forms.Form):
    """Which attempts of one mailing to list: by status, by run, from which position."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("all"))] + list(Attempt.Status.choices)
    )
    run = RunChoiceField(label=_("Run"), required=False, queryset=None, empty_label=_("all runs"))
    before = forms.CharField(required=False, widget=forms.HiddenInput)
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, mailing, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this mailing's runs: another mailing's (or workspace's) run is "not a valid choice".
        self.fields["run"].queryset = mailing.runs.order_by("-scheduled_for")

    def clean(self):
        cleaned = super().clean()
        for name in ("before", "after"):
            if cleaned.get(name):
                try:
                    decode_cursor(cleaned[name])
                except ValueError:
                    self.add_error(name, _("This position in the log is not valid."))
        return cleaned

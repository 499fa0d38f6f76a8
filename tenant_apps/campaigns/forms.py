from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tenant_apps.audience.fields import field_keys
from tenant_apps.audience.models import Client, MailingList

from .models import Mailing, Message
from .rendering import FIELD_PREFIX, PLACEHOLDERS, unknown_placeholders

DATETIME_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
MAX_ID = 2**63


def as_placeholders(names):
    return ", ".join("{{ " + name + " }}" for name in names)


def known_placeholders_text(field_keys=()):
    return as_placeholders([*PLACEHOLDERS, *(FIELD_PREFIX + key for key in field_keys)])


class BootstrapFormMixin:
    """Bootstrap classes on every widget, so templates render fields plainly."""

    def style_widgets(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = (widget.attrs.get("class", "") + " is-invalid").strip()


class MessageForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Message
        fields = ["subject", "body_text", "body_html"]
        widgets = {
            "body_text": forms.Textarea(attrs={"rows": 10}),
            "body_html": forms.Textarea(attrs={"rows": 10, "class": "form-control font-monospace"}),
        }
        help_texts = {
            "body_html": _("Optional. Scripts, event handlers and unsafe links are removed when it is saved."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean(self):
        cleaned = super().clean()
        keys = field_keys()
        # Reported per field, so the author sees where the typo is.
        for name in self.Meta.fields:
            unknown = unknown_placeholders(cleaned.get(name, ""), field_keys=keys)
            if unknown:
                self.add_error(name, unknown_placeholder_error(unknown, keys))
        return cleaned


def unknown_placeholder_error(unknown, field_keys=()):
    names = as_placeholders(unknown)
    return ngettext(
        "Unknown placeholder %(names)s. Known ones: %(known)s.",
        "Unknown placeholders %(names)s. Known ones: %(known)s.",
        len(unknown),
    ) % {"names": names, "known": known_placeholders_text(field_keys)}


class ClientIdsField(forms.Field):
    """Clients of the current workspace given as "12,57,301"; cleans to a queryset."""

    widget = forms.HiddenInput
    default_error_messages = {
        "invalid": _("The chosen clients could not be read; choose them again."),
        "invalid_choice": _("A chosen client no longer exists; remove it and save again."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            ids = sorted({int(part) for part in str(value or "").split(",") if part.strip()})
        except ValueError:
            ids = [0]
        # Out of the id column's range, PostgreSQL would fail the whole query.
        if ids and not (0 < ids[0] and ids[-1] < MAX_ID):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return ids

    def clean(self, value):
        ids = super().clean(value)
        clients = Client.objects.filter(pk__in=ids)
        if clients.count() != len(ids):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return clients

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return ",".join(str(getattr(item, "pk", item)) for item in value or [])


def parse_ids(value):
    """The integers in a comma-separated string; junk is skipped (for re-rendering only)."""
    return [int(part) for part in str(value or "").split(",") if part.strip().isdigit()]


class WorkspaceDateTimeField(forms.DateTimeField):
    """A date and time typed in the workspace's time zone (activated by the view)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT_FORMAT)


class MailingForm(BootstrapFormMixin, forms.ModelForm):
    """Everything a workspace may set on a mailing.

    Status is the engine's; pausing has its own buttons; `disabled_by_manager`
    belongs to the managers and is never a field here.
    """

    start_at = WorkspaceDateTimeField(label=_("Start"))
    end_at = WorkspaceDateTimeField(label=_("End"))
    # Picked through the search endpoint and posted as one hidden field of ids,
    # so neither the page nor the POST carries one element per client.
    clients = ClientIdsField(label=_("Chosen clients"))
    lists = forms.ModelMultipleChoiceField(
        label=_("Lists"),
        queryset=MailingList.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Used when the recipients are the subscribers of chosen lists; each client gets one copy."),
    )

    class Meta:
        model = Mailing
        fields = [
            "name",
            "message",
            "audience",
            "clients",
            "lists",
            "start_at",
            "end_at",
            "periodicity",
            "track_opens",
            "track_clicks",
            "add_utm",
            "from_email",
        ]
        widgets = {"audience": forms.RadioSelect}
        help_texts = {
            "track_opens": _("Only when open tracking is on for the workspace, and only for messages with HTML."),
            "track_clicks": _("Only when click tracking is on for the workspace."),
            "add_utm": _("Adds utm_source=rassylka and utm_campaign=<mailing name> to every web link."),
            "from_email": _("Empty: the platform's address. Otherwise an address on a verified sending domain."),
        }
        labels = {"message": _("Message")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message"].queryset = Message.objects.user_made()
        self.fields["message"].empty_label = _("— choose a message —")
        self.fields["message"].error_messages["required"] = _("Choose the message to send.")
        self.style_widgets()

    def clean(self):
        cleaned = super().clean()
        self.check_times(cleaned.get("start_at"), cleaned.get("end_at"))
        self.check_recipients(cleaned.get("audience"), cleaned.get("clients"))
        self.check_lists(cleaned.get("audience"), cleaned.get("lists"))
        self.check_from(cleaned.get("from_email"))
        return cleaned

    def check_from(self, address):
        from tenant_apps.senders.services import from_allowed

        if address and not from_allowed(address):
            self.add_error("from_email", _("Send only from the platform's domain or a verified sending domain."))

    def check_times(self, start, end):
        if not start or not end:
            return
        if end <= start:
            self.add_error("end_at", _("The end must be after the start."))
        elif end <= timezone.now() and (self.instance.pk is None or "end_at" in self.changed_data):
            self.add_error("end_at", _("The end is in the past: nothing would be sent."))

    def check_recipients(self, audience, clients):
        if audience == Mailing.Audience.ALL:
            if not Client.objects.filter(is_subscribed=True).exists():
                self.add_error("audience", _("There are no subscribed clients yet: add clients first."))
        elif audience == Mailing.Audience.SELECTED and "clients" not in self.errors:
            if not clients:
                self.add_error("clients", _("Choose at least one client."))
            elif not clients.filter(is_subscribed=True).exists():
                self.add_error("clients", _("None of the chosen clients is subscribed."))

    def check_lists(self, audience, chosen):
        if audience != Mailing.Audience.LISTS or "lists" in self.errors:
            return
        if not chosen:
            self.add_error("lists", _("Choose at least one list."))

    def chosen_client_ids(self):
        """The ids in the form's current value (bound or initial), for re-rendering the picker."""
        return parse_ids(self["clients"].value())

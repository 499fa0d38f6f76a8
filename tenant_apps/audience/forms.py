import json

from django import forms
from django.utils.translation import gettext_lazy as _

from . import fields as custom_fields
from . import lists, segments, services
from .models import Client, CustomField, MailingList, Segment, SubscriptionForm


def list_choices():
    return MailingList.objects.order_by("name")


class ClientForm(forms.ModelForm):
    lists = forms.ModelMultipleChoiceField(
        label=_("Lists"),
        queryset=MailingList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The lists the client is subscribed to; a list unticked here marks them unsubscribed from it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].queryset = list_choices()
        if self.instance.pk:
            self.initial["lists"] = list(lists.subscribed_lists(self.instance))
        self.custom_fields = custom_fields.definitions()
        for definition in self.custom_fields:
            name = FIELD_PREFIX + definition.key
            self.fields[name] = forms.CharField(label=definition.label, required=False, max_length=None)
            if definition.type == CustomField.Type.CHOICE:
                self.fields[name].widget = forms.Select(
                    choices=[("", "—")] + [(c, c) for c in definition.choices], attrs={"class": "form-select"}
                )
            elif definition.type == CustomField.Type.DATE:
                self.fields[name].widget = DateInput()
            stored = (self.instance.fields or {}).get(definition.key)
            # A date input takes ISO dates; other types show as written in messages.
            self.initial[name] = stored if definition.type == CustomField.Type.DATE else custom_fields.display(stored)

    def clean(self):
        cleaned = super().clean()
        self.check_client_limit()
        changes = {}
        for definition in self.custom_fields:
            name = FIELD_PREFIX + definition.key
            try:
                changes[definition.key] = custom_fields.clean_value(definition, cleaned.get(name))
            except custom_fields.InvalidValue as error:
                self.add_error(name, services.translate(error.message, error.params))
        self.instance.fields = custom_fields.set_values(self.instance.fields, changes)
        return cleaned

    class Meta:
        model = Client
        fields = ["email", "full_name", "comment", "is_subscribed"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"is_subscribed": _("Unsubscribed clients receive no mailings.")}

    def check_client_limit(self):
        if self.instance.pk is None:
            from tenant_apps.senders.quotas import client_limit, client_room, workspace_here

            workspace = workspace_here()
            if client_room(workspace) == 0:
                raise forms.ValidationError(
                    _("The workspace reached its limit of %(max)s clients; ask a manager to raise it.")
                    % {"max": client_limit(workspace)},
                    code="client_limit",
                )

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if services.email_taken(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(
                _("A client with this email already exists (emails are compared ignoring case)."), code="taken"
            )
        return email


FIELD_PREFIX = "field_"


class DateInput(forms.DateInput):
    input_type = "date"
    format = "%Y-%m-%d"


class ClientFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", _("all")),
        (services.SUBSCRIBED, _("subscribed")),
        (services.UNSUBSCRIBED, _("unsubscribed")),
    ]
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Subscription"), choices=STATUS_CHOICES, required=False)
    list = forms.ModelChoiceField(
        label=_("List"), queryset=MailingList.objects.none(), required=False, empty_label=_("all lists")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["list"].queryset = list_choices()

    def filters(self):
        """(query, status, list id) to search with; an invalid filter means no filter."""
        if not self.is_valid():
            return "", "", None
        chosen = self.cleaned_data["list"]
        return self.cleaned_data["q"], self.cleaned_data["status"], chosen.pk if chosen else None


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A header row with an “email” column, optionally “full_name” (or “name”) and “comment”; "
            "values separated by commas or semicolons; UTF-8 or Windows-1251; up to 100 MB "
            "(a million rows fit), or a .zip holding one CSV file."
        ),
    )
    target_list = forms.ModelChoiceField(
        label=_("Add to list"),
        queryset=MailingList.objects.none(),
        required=False,
        empty_label=_("— no list —"),
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text=_("Every client of the file joins this list as subscribed, unless they left it before."),
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > services.MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB."), params={"size": services.MAX_IMPORT_BYTES // 2**20}
            )
        if uploaded.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return uploaded

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_list"].queryset = list_choices()


class MailingListForm(forms.ModelForm):
    class Meta:
        model = MailingList
        fields = ["name", "description", "is_public", "double_opt_in"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "is_public": _("Subscribers see public lists on subscription forms and in the preference centre."),
            "double_opt_in": _("New subscribers from forms must confirm by email before they receive mailings."),
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if lists.name_taken(name, exclude_pk=self.instance.pk):
            raise forms.ValidationError(_("A list with this name already exists."), code="taken")
        return name


class CustomFieldForm(forms.ModelForm):
    """A field's definition; its key and type are fixed once it exists (stored values depend on them)."""

    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For “one of a set of choices”: one choice per line."),
    )

    class Meta:
        model = CustomField
        fields = ["label", "key", "type"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].widget.attrs["class"] = "form-select"
        if self.instance.pk:
            del self.fields["key"], self.fields["type"]
            self.initial["choices_text"] = "\n".join(self.instance.choices)

    def clean_key(self):
        key = self.cleaned_data["key"].strip()
        if not custom_fields.KEY_RE.match(key):
            raise forms.ValidationError(
                _("Use Latin lowercase letters, digits and _, starting with a letter (up to 40)."), code="key"
            )
        if CustomField.objects.filter(key=key).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A field with this key already exists."), code="taken")
        return key

    def clean(self):
        cleaned = super().clean()
        field_type = cleaned.get("type", self.instance.type)
        choices = custom_fields.parse_choices(cleaned.get("choices_text", ""))
        if field_type == CustomField.Type.CHOICE:
            if not choices:
                self.add_error("choices_text", _("Give at least one choice."))
            elif len(choices) > custom_fields.MAX_CHOICES or any(len(c) > 100 for c in choices):
                self.add_error("choices_text", _("At most 100 choices of up to 100 characters each."))
            elif self.instance.pk and (removed := set(self.instance.choices) - set(choices)):
                if custom_fields.values_in_use(self.instance.key, sorted(removed)):
                    self.add_error("choices_text", _("Some clients have a choice you removed; change them first."))
        self.instance.choices = choices if field_type == CustomField.Type.CHOICE else []
        return cleaned


HOST_RE = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"


class SubscriptionFormForm(forms.ModelForm):
    """A list's sign-up form, as its owner sets it up."""

    shown_fields = forms.MultipleChoiceField(
        label=_("Fields shown"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The email address is always asked for."),
    )

    class Meta:
        model = SubscriptionForm
        fields = ["title", "text", "consent_text", "shown_fields", "thank_you_url", "allowed_hosts", "welcome_message"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 3}),
            "consent_text": forms.Textarea(attrs={"rows": 2}),
            "allowed_hosts": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "consent_text": _("Shown above the button; every sign-up keeps this exact text as its consent record."),
            "thank_you_url": _("Where visitors go after signing up; empty: our own thank-you page."),
            "allowed_hosts": _("One site per line (example.com). The thank-you page must be on one of them."),
            "welcome_message": _("Sent once the subscription is confirmed; none: no welcome."),
        }

    def __init__(self, *args, **kwargs):
        from tenant_apps.campaigns.models import Message

        super().__init__(*args, **kwargs)
        choices = [("full_name", _("Name"))] + [(d.key, d.label) for d in custom_fields.definitions()]
        self.fields["shown_fields"].choices = choices
        self.fields["welcome_message"].queryset = Message.objects.user_made()
        self.fields["welcome_message"].required = False

    def clean_allowed_hosts(self):
        import re

        hosts = [line.strip().lower() for line in self.cleaned_data["allowed_hosts"].splitlines() if line.strip()]
        wrong = [host for host in hosts if len(host) > 253 or not re.match(HOST_RE, host)]
        if wrong:
            raise forms.ValidationError(_("Not a site name: %(hosts)s"), params={"hosts": ", ".join(wrong)})
        return "\n".join(hosts)

    def clean(self):
        from urllib.parse import urlsplit

        data = super().clean()
        url, hosts = data.get("thank_you_url"), data.get("allowed_hosts", "")
        if url and (urlsplit(url).hostname or "").lower() not in hosts.splitlines():
            self.add_error("thank_you_url", _("Add this page's site to the allowed sites first."))
        return data


class SegmentForm(forms.Form):
    """A segment's name and its conditions, posted by the builder as one JSON field."""

    name = forms.CharField(label=_("Name"), max_length=200)
    definition = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, segment: Segment, **kwargs):
        super().__init__(*args, **kwargs)
        self.segment = segment
        if segment.pk and not self.is_bound:
            self.initial = {"name": segment.name, "definition": json.dumps(segment.definition, ensure_ascii=False)}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if segments.name_taken(name, exclude_pk=self.segment.pk):
            raise forms.ValidationError(_("A segment with this name already exists."), code="taken")
        return name

    def clean_definition(self):
        try:
            data = json.loads(self.cleaned_data["definition"] or "{}")
        except ValueError:
            raise forms.ValidationError(_("The conditions are not in the expected form."), code="json") from None
        try:
            return segments.validate_definition(data)
        except segments.InvalidDefinition as error:
            raise forms.ValidationError(error.messages, code="invalid") from None


class ErasureForm(forms.Form):
    """Typing the client's address confirms an erasure (case does not matter)."""

    confirm_email = forms.CharField(label=_("Type the client's email to confirm"), max_length=254)

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.fields["confirm_email"].widget.attrs.update({"autocomplete": "off", "class": "form-control"})

    def clean_confirm_email(self):
        typed = self.cleaned_data["confirm_email"].strip()
        if typed.lower() != self.client.email.lower():
            raise forms.ValidationError(_("This is not the client's email; nothing was erased."))
        return typed

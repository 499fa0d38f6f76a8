from django import forms
from django.utils.translation import gettext_lazy as _

from . import lists, services
from .models import Client, MailingList


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

    class Meta:
        model = Client
        fields = ["email", "full_name", "comment", "is_subscribed"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"is_subscribed": _("Unsubscribed clients receive no mailings.")}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            from tenant_apps.senders.quotas import client_limit, client_room, workspace_here

            workspace = workspace_here()
            if client_room(workspace) == 0:
                raise forms.ValidationError(
                    _("The workspace reached its limit of %(max)s clients; ask a manager to raise it.")
                    % {"max": client_limit(workspace)},
                    code="client_limit",
                )
        return cleaned

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if services.email_taken(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(
                _("A client with this email already exists (emails are compared ignoring case)."), code="taken"
            )
        return email


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
            "values separated by commas or semicolons; UTF-8 or Windows-1251; up to 100,000 rows."
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

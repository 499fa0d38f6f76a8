from django import forms
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Client


class ClientForm(forms.ModelForm):
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

    def filters(self):
        """(query, status) to search with; an invalid filter means no filter."""
        if not self.is_valid():
            return "", ""
        return self.cleaned_data["q"], self.cleaned_data["status"]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A header row with an “email” column, optionally “full_name” (or “name”) and “comment”; "
            "values separated by commas or semicolons; UTF-8 or Windows-1251; up to 100,000 rows."
        ),
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

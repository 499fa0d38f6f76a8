from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.campaigns.forms import BootstrapFormMixin

from .addresses import RefusedAddress, permitted_target
from .models import EVENT_TYPES


class EndpointForm(BootstrapFormMixin, forms.Form):
    url = forms.URLField(
        label=_("Address"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https:// address on the public internet. Requests are POSTs of signed JSON."),
    )
    event_types = forms.MultipleChoiceField(label=_("Events"), choices=EVENT_TYPES, widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()
        self.fields["event_types"].widget.attrs["class"] = "form-check-input"

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        try:
            permitted_target(url)  # checked again at every connection: DNS answers change
        except RefusedAddress as error:
            raise forms.ValidationError(str(error)) from error
        return url

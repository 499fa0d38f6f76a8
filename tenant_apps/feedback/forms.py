import base64
import binascii

from cryptography.hazmat.primitives import serialization
from django import forms
from django.utils.translation import gettext_lazy as _

from shared_apps.deliverability.models import WorkspaceFeedback

from .models import FeedbackSettings


class SuppressionSearchForm(forms.Form):
    q = forms.CharField(label=_("Email"), required=False, max_length=254)


class LiftForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that this address may bounce or complain again, and want to mail it anyway"),
        required=True,
    )


class FeedbackSettingsForm(forms.ModelForm):
    class Meta:
        model = FeedbackSettings
        fields = [
            "hard_bounce_suppresses",
            "soft_bounce_limit",
            "soft_bounce_days",
            "complaint_unsubscribes",
            "complaint_suppresses",
        ]

    def clean_soft_bounce_limit(self):
        value = self.cleaned_data["soft_bounce_limit"]
        if value > 100:
            raise forms.ValidationError(_("At most 100."))
        return value

    def clean_soft_bounce_days(self):
        value = self.cleaned_data["soft_bounce_days"]
        if not 1 <= value <= 365:
            raise forms.ValidationError(_("From 1 to 365 days."))
        return value


class ProviderKeysForm(forms.ModelForm):
    class Meta:
        model = WorkspaceFeedback
        fields = [
            "sendgrid_public_key",
            "mailgun_signing_key",
            "postmark_username",
            "postmark_password",
            "ses_topic_arn",
        ]
        widgets = {"sendgrid_public_key": forms.Textarea(attrs={"rows": 3})}

    def clean_sendgrid_public_key(self):
        value = "".join(self.cleaned_data["sendgrid_public_key"].split())
        if value:
            try:
                serialization.load_der_public_key(base64.b64decode(value, validate=True))
            except (ValueError, binascii.Error) as error:
                raise forms.ValidationError(
                    _("Paste the verification key exactly as SendGrid shows it (base64).")
                ) from error
        return value

    def clean(self):
        data = super().clean()
        if bool(data.get("postmark_username")) != bool(data.get("postmark_password")):
            raise forms.ValidationError(_("Postmark needs both a user name and a password, or neither."))
        return data

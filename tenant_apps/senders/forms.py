import re

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.campaigns.forms import BootstrapFormMixin

from .models import SendingDomain, SmtpProvider

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class DomainForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Domain"), max_length=253, help_text=_("For example news.example.com"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean_name(self):
        name = self.cleaned_data["name"].strip().lower().rstrip(".")
        if not DOMAIN_RE.match(name):
            raise forms.ValidationError(_("Enter a domain name such as news.example.com."))
        from .services import platform_domain

        if name == platform_domain():
            raise forms.ValidationError(_("The platform's own domain is always available; add your own domain."))
        if SendingDomain.objects.filter(name=name).exists():
            raise forms.ValidationError(_("This domain is already added."))
        return name


class DomainProviderForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = SendingDomain
        fields = ["provider"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].empty_label = _("— the workspace's provider or the platform relay —")
        self.style_widgets()


class ProviderForm(BootstrapFormMixin, forms.ModelForm):
    # Never rendered back into the page: an empty field on edit keeps the stored password.
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = SmtpProvider
        fields = [
            "name",
            "host",
            "port",
            "security",
            "username",
            "password",
            "rate_per_second",
            "rate_per_hour",
            "is_workspace_default",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.password:
            self.fields["password"].help_text = _("Stored (encrypted). Leave empty to keep it.")
        self.fields["port"].min_value = 1
        self.fields["port"].max_value = 65535
        self.fields["port"].widget.attrs.update(min=1, max=65535)
        self.fields["rate_per_second"].min_value = 0
        self.fields["rate_per_second"].widget.attrs.update(min=0)
        self.style_widgets()

    def clean_port(self):
        port = self.cleaned_data["port"]
        if not 1 <= port <= 65535:
            raise forms.ValidationError(_("A port is a number from 1 to 65535."))
        return port

    def clean_rate_per_second(self):
        rate = self.cleaned_data["rate_per_second"]
        if rate < 0:
            raise forms.ValidationError(_("Enter 0 (no limit) or a positive number."))
        return rate

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not password and self.instance.pk:
            return self.instance.password  # kept
        return password

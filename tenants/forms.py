from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.timezones import time_zone_choices

from .access import ROLE_LABELS, Role, member_role
from .services import validate_slug

MEMBER_ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in (Role.OWNER, Role.EDITOR, Role.VIEWER)]


class WorkspaceCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"autofocus": True}))
    slug = forms.CharField(
        label=_("Address"),
        max_length=40,
        help_text=_("3 to 40 lowercase Latin letters, digits and hyphens; it becomes the subdomain."),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Enter a name."), code="required")
        return name

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip()
        validate_slug(slug)
        return slug


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Role"), choices=MEMBER_ROLE_CHOICES, initial=Role.EDITOR.value)

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is not None and self.workspace is not None and member_role(user, self.workspace) is not None:
            raise ValidationError(_("%(email)s is already a member.") % {"email": email}, code="member")
        return email


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=MEMBER_ROLE_CHOICES)


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        help_text=_("Mailing times in this workspace are shown and entered in this time zone."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices(self.initial.get("time_zone", ""))

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Enter a name."), code="required")
        return name

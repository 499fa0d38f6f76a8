import re

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image

from .models import User
from .timezones import time_zone_choices

PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,24}$")


class ProfileForm(forms.ModelForm):
    """The signed-in user's own profile: name, avatar, phone, time zone, language."""

    time_zone = forms.ChoiceField(label=_("time zone"), choices=time_zone_choices)
    avatar = forms.ImageField(
        label=_("avatar"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
        help_text=_("PNG, JPEG, GIF or WebP, at most 2 MB and 4000×4000 pixels."),
    )
    remove_avatar = forms.BooleanField(label=_("Remove the avatar"), required=False)

    class Meta:
        model = User
        fields = ["full_name", "avatar", "phone", "time_zone", "language"]
        widgets = {"phone": forms.TextInput(attrs={"placeholder": "+7 999 123-45-67", "autocomplete": "tel"})}
        help_texts = {"phone": _("International format, e.g. +7 999 123-45-67.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices(self.instance.time_zone)

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if not phone:
            return ""
        digits = re.sub(r"\D", "", phone)
        if not PHONE_RE.match(phone) or not 7 <= len(digits) <= 15:
            raise forms.ValidationError(
                _("Enter a phone number of 7 to 15 digits, e.g. +7 999 123-45-67."), code="invalid_phone"
            )
        return ("+" if phone.startswith("+") else "") + digits

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if not avatar or avatar == self.instance.avatar:
            return avatar
        # The size check comes first so Pillow never reads an oversized upload.
        if avatar.size > settings.AVATAR_MAX_BYTES:
            raise forms.ValidationError(
                _("The image is %(size)s; the limit is %(limit)s.")
                % {"size": filesizeformat(avatar.size), "limit": filesizeformat(settings.AVATAR_MAX_BYTES)},
                code="too_big",
            )
        max_width, max_height = settings.AVATAR_MAX_PIXELS
        avatar.seek(0)
        with Image.open(avatar) as image:
            width, height = image.size
        avatar.seek(0)
        if width > max_width or height > max_height:
            raise forms.ValidationError(
                _("The image is %(width)s×%(height)s pixels; the limit is %(max_width)s×%(max_height)s.")
                % {"width": width, "height": height, "max_width": max_width, "max_height": max_height},
                code="too_large",
            )
        return avatar

    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("remove_avatar") and not self.files.get("avatar"):
            user.avatar.delete(save=False)
            user.avatar = ""
        if commit:
            user.save()
        return user

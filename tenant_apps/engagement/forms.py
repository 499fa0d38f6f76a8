from django import forms
from django.utils.translation import gettext_lazy as _


class TrackingSettingsForm(forms.Form):
    track_opens = forms.BooleanField(
        label=_("Track opens"),
        required=False,
        help_text=_(
            "Adds an invisible 1×1 image to HTML messages. When a recipient's mail program loads it, we note "
            "the time, the network (the address cut to its first three parts) and the kind of program: never "
            "the full address. Privacy proxies such as Apple Mail load every image, so their opens are shown "
            "apart, as machines."
        ),
    )
    track_clicks = forms.BooleanField(
        label=_("Track clicks"),
        required=False,
        help_text=_(
            "Web links in messages pass through this workspace's address, which notes the click and sends the "
            "recipient on to the original page at once. The unsubscribe link, mail and phone links are never "
            "changed. Link scanners of mail servers are counted apart, as machines."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-check-input"

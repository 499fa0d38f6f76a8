from django import template
from django.utils.translation import gettext as _

from tenant_apps.audience.data_rights import ERASED_DOMAIN, is_erased

register = template.Library()


@register.filter
def shown_email(email):
    """`{{ delivery.email|shown_email }}`: the address, or "erased · 3f9a…" for an erased client's stand-in."""
    email = email or ""
    if not is_erased(email):
        return email
    short = email.removesuffix("@" + ERASED_DOMAIN).removeprefix("erased-")[:8]
    return _("erased · %(hash)s…") % {"hash": short}

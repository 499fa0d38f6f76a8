from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent_of(part, whole):
    """`{{ bounced|percent_of:sent }}` → "2.5 %" (localised); "—" when nothing was sent."""
    try:
        part, whole = int(part or 0), int(whole or 0)
    except (TypeError, ValueError):
        return "—"
    if not whole:
        return "—"
    return f"{number_format(100 * part / whole, 1)} %"

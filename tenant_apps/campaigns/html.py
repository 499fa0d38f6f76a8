"""Sanitising the HTML body of a message.

Email HTML lives on tables and inline styles, so those stay; scripts, event
handlers, `javascript:` links, frames and forms go. The body is cleaned every
time a message is saved, whatever path saved it.
"""

import copy

import nh3

EMAIL_TAG_ATTRIBUTES = {
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "role"},
    "td": {"width", "valign", "bgcolor", "height"},
    "th": {"width", "valign", "bgcolor", "height"},
    "tr": {"valign", "bgcolor"},
    "font": {"color", "face", "size"},
}
EMAIL_TAGS = {"font", "tfoot"}
# CSS that lays out and colours an email; nothing that positions over the page or loads URLs.
STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-color", "border-left",
    "border-radius", "border-right", "border-spacing", "border-style", "border-top", "border-width",
    "color", "display", "font", "font-family", "font-size", "font-style", "font-weight", "height",
    "letter-spacing", "line-height", "margin", "margin-bottom", "margin-left", "margin-right", "margin-top",
    "max-width", "min-width", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top",
    "text-align", "text-decoration", "text-transform", "vertical-align", "white-space", "width",
}  # fmt: skip


def _attributes():
    attributes = copy.deepcopy(nh3.ALLOWED_ATTRIBUTES)
    for tag, names in EMAIL_TAG_ATTRIBUTES.items():
        attributes.setdefault(tag, set()).update(names)
    attributes["*"] = {"style", "title", "lang", "dir"}
    return attributes


_CLEANER = nh3.Cleaner(
    tags=nh3.ALLOWED_TAGS | EMAIL_TAGS,
    attributes=_attributes(),
    filter_style_properties=STYLE_PROPERTIES,
)


def sanitize_html(html):
    """`html` with everything that could run code or leave the message removed."""
    if not html or not html.strip():
        return ""
    return _CLEANER.clean(html)

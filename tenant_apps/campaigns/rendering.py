"""Personalising a message for one recipient.

Placeholders: {{ name }}, {{ email }}, {{ unsubscribe_url }} (spaces inside
the braces optional). Anything else in double braces is an error, reported
when the message is saved, never sent.
"""

import re
from html import escape

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
PLACEHOLDERS = ("name", "email", "unsubscribe_url")


def unknown_placeholders(*texts):
    """The placeholder names in `texts` that the renderer does not know, sorted."""
    found = {match.group(1) for text in texts for match in PLACEHOLDER_RE.finditer(text or "")}
    return sorted(found - set(PLACEHOLDERS))


def fill(text, values, *, html=False):
    def replace(match):
        value = values.get(match.group(1), match.group(0))
        return escape(value) if html else value

    return PLACEHOLDER_RE.sub(replace, text or "")


def render_for_client(subject, body_text, body_html, *, name, email, unsubscribe_url):
    """(subject, text, html) with the recipient's values filled in; html is "" when absent."""
    values = {"name": name or "", "email": email, "unsubscribe_url": unsubscribe_url}
    return (
        fill(subject, values).replace("\n", " "),
        fill(body_text, values),
        fill(body_html, values, html=True) if body_html else "",
    )

"""Personalising a message for one recipient.

Placeholders: {{ name }}, {{ email }}, {{ unsubscribe_url }}, {{ preferences_url }} and
{{ fields.<key> }} for the workspace's custom fields (spaces inside the braces
optional). Anything else in double braces is an error, reported when the
message is saved, never sent. A client without a value for a field gets it
empty.
"""

import json
import re
from html import escape

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
PLACEHOLDERS = ("name", "email", "unsubscribe_url", "preferences_url")
FIELD_PREFIX = "fields."


def unknown_placeholders(*texts, field_keys=()):
    """The placeholder names in `texts` that the renderer does not know, sorted.

    `field_keys` are the workspace's custom field keys, known as `fields.<key>`.
    """
    found = {match.group(1) for text in texts for match in PLACEHOLDER_RE.finditer(text or "")}
    return sorted(found - set(PLACEHOLDERS) - {FIELD_PREFIX + key for key in field_keys})


def field_values(fields):
    """{"fields.<key>": text} for a client's stored custom field values."""
    from tenant_apps.audience.fields import display

    if isinstance(fields, str):  # raw SQL (the engine's claim) reads jsonb as text with Django's psycopg2 setup
        fields = json.loads(fields)
    return {FIELD_PREFIX + key: display(value) for key, value in (fields or {}).items()}


def fill(text, values, *, html=False):
    def replace(match):
        name = match.group(1)
        value = values.get(name, "" if name.startswith(FIELD_PREFIX) else match.group(0))
        return escape(value) if html else value

    return PLACEHOLDER_RE.sub(replace, text or "")


def render_for_client(subject, body_text, body_html, *, name, email, unsubscribe_url, preferences_url="", fields=None):
    """(subject, text, html) with the recipient's values filled in; html is "" when absent."""
    values = {
        "name": name or "",
        "email": email,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }
    values |= field_values(fields)
    return (
        fill(subject, values).replace("\n", " "),
        fill(body_text, values),
        fill(body_html, values, html=True) if body_html else "",
    )


class CompiledText:
    """A text parsed once and filled for many recipients: what fill() does, without a regex per message."""

    def __init__(self, text, *, html=False):
        self.html = html
        self.pieces = []  # literal strings and (name, original) placeholders, in order
        text, start = text or "", 0
        for match in PLACEHOLDER_RE.finditer(text):
            self.pieces.append(text[start : match.start()])
            name = match.group(1)
            if name in PLACEHOLDERS or name.startswith(FIELD_PREFIX):
                self.pieces.append((name,))
            else:  # left as written, as fill() leaves it
                self.pieces.append(escape(match.group(0)) if html else match.group(0))
            start = match.end()
        self.pieces.append(text[start:])

    def fill(self, values):
        if self.html:
            values = {name: escape(value) for name, value in values.items()}
        # A custom field the client has no value for (or one deleted since) is empty.
        return "".join(piece if isinstance(piece, str) else values.get(piece[0], "") for piece in self.pieces)


class CompiledMessage:
    """render_for_client() for many recipients of one message: the texts are parsed once."""

    def __init__(self, subject, body_text, body_html):
        self.subject = CompiledText(subject)
        self.text = CompiledText(body_text)
        self.html = CompiledText(body_html, html=True) if body_html else None

    def render(self, *, name, email, unsubscribe_url, preferences_url="", fields=None):
        values = {
            "name": name or "",
            "email": email,
            "unsubscribe_url": unsubscribe_url,
            "preferences_url": preferences_url,
        }
        if fields:
            values |= field_values(fields)
        return (
            self.subject.fill(values).replace("\n", " "),
            self.text.fill(values),
            self.html.fill(values) if self.html else "",
        )

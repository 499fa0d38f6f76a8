"""Building the bytes of one campaign message, fast.

The stdlib `email` package spends more time on a message than sending it
takes; campaign messages have one fixed shape (text, or text + HTML, UTF-8),
so they are written directly: headers RFC 2047-encoded when not ASCII,
bodies base64 (safe for any line length and any alphabet).
"""

import base64
import binascii
import os
import time
from email.utils import formataddr, formatdate, parseaddr

LINE = b"\r\n"


def encode_header(value):
    """RFC 2047 base64 encoded-words (folded) for a non-ASCII header value."""
    if value.isascii():
        return value
    data, words, start = value.encode("utf-8"), [], 0
    while start < len(data):
        end = min(start + 39, len(data))  # 39 bytes → 52 base64 chars: "Subject: " + a word fits in 78
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never split a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode()}?=")
        start = end
    return "\r\n ".join(words)


def format_from(from_email):
    name, address = parseaddr(from_email)
    return formataddr((name, address), charset="utf-8") if name else address


def envelope_address(from_email):
    return parseaddr(from_email)[1]


_date = [0, ""]


def date_header():
    """The Date value, formatted once per second (a campaign sends thousands a second)."""
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, formatdate(now, usegmt=True)]
    return _date[1]


def _base64_body(text):
    encoded = binascii.b2a_base64(text.encode("utf-8"), newline=False)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"


def _part(content_type, text):
    return (
        f"Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
        + _base64_body(text)
    )


def build_message(*, from_header, to, subject, text, html="", headers=None, msgid_domain="localhost"):
    """The RFC 5322 bytes of one message (CRLF line ends)."""
    lines = [
        f"From: {from_header}",
        f"To: {to}",
        f"Subject: {encode_header(subject)}",
        f"Date: {date_header()}",
        f"Message-ID: <{os.urandom(16).hex()}@{msgid_domain}>",
        "MIME-Version: 1.0",
    ]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {encode_header(value)}")
    head = "\r\n".join(lines).encode("utf-8") + LINE
    if not html:
        return head + _part("text/plain", text)
    boundary = f"=_{os.urandom(12).hex()}"
    sep = f"--{boundary}\r\n".encode()
    return (
        head
        + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode()
        + sep
        + _part("text/plain", text)
        + sep
        + _part("text/html", html)
        + f"--{boundary}--\r\n".encode()
    )

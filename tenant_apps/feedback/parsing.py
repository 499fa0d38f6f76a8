"""Reading bounce and complaint messages (no database, no Django models).

Standard reports are read with the stdlib `email` package:
- delivery status notifications, RFC 3464 (`multipart/report;
  report-type=delivery-status`): one event per recipient whose Action is
  "failed" (a "delayed" notice is not a bounce: the MTA still tries);
- complaint reports, ARF / RFC 5965 (`report-type=feedback-report`).
Anything else (qmail's, old Exchange's and Yahoo's plain-text notices, …) is
handed to flufl.bounce, Mailman's collection of bounce detectors, and the
status code and diagnostic are picked out of the text.
"""

import email
import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flufl.bounce import all_failures

from .verp import find_token

# flufl.bounce logs every detector it tries at INFO: noise for each bounce.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
# Class 5 is permanent, but a full mailbox (X.2.2) usually empties again:
# count it as soft, so it suppresses only when it repeats.
SOFT_PERMANENT_CODES = {"5.2.2"}
STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
SMTP_REPLY = re.compile(r"\b([245]\d\d)[ :-]")
NOT_COMPLAINTS = {"not-spam"}
MAX_TEXT = 2000


@dataclass
class ParsedEvent:
    kind: str
    recipient: str = ""
    status_code: str = ""
    diagnostic: str = ""
    reporting_mta: str = ""
    occurred_at: datetime | None = None
    # A VERP token found inside the report (the quoted message's Return-Path,
    # ARF's Original-Mail-From): used when the envelope recipient has none.
    token: str | None = None


def parse_message(raw: bytes) -> list[ParsedEvent]:
    """Every bounce or complaint a message reports (empty when it reports none)."""
    message = email.message_from_bytes(raw)
    report_type = (message.get_param("report-type") or "").lower() if message.is_multipart() else ""
    if message.get_content_type() == "multipart/report" and report_type == "feedback-report":
        return parse_arf(message, raw)
    status_part = _find_part(message, "message/delivery-status")
    if status_part is not None:
        events = parse_dsn(message, status_part, raw)
        if events is not None:
            return events
    return parse_fallback(message, raw)


# --- RFC 3464 ---------------------------------------------------------------


def parse_dsn(message, status_part, raw):
    """Events of a DSN, or None when its status part is unreadable (then the fallback tries)."""
    groups = status_part.get_payload()
    if not isinstance(groups, list) or len(groups) < 2:
        return None
    per_message, recipients = groups[0], groups[1:]
    reporting_mta = _after_type(per_message.get("Reporting-MTA", ""))
    arrival = _date(per_message.get("Arrival-Date")) or _date(message.get("Date"))
    token = _token_in_original(message) or find_token(raw.decode("latin-1"))
    events = []
    for fields in recipients:
        action = (fields.get("Action") or "").strip().lower()
        if action != "failed":
            continue  # delayed, delivered, relayed, expanded: not a bounce
        status = _status_code(fields.get("Status", "")) or _status_code(fields.get("Diagnostic-Code", ""))
        events.append(
            ParsedEvent(
                kind=_kind(status),
                recipient=_after_type(fields.get("Final-Recipient") or fields.get("Original-Recipient") or ""),
                status_code=status,
                diagnostic=_clean(_after_type(fields.get("Diagnostic-Code", ""))),
                reporting_mta=reporting_mta,
                occurred_at=_date(fields.get("Last-Attempt-Date")) or arrival,
                token=token,
            )
        )
    return events


# --- RFC 5965 ---------------------------------------------------------------


def parse_arf(message, raw):
    report = _find_part(message, "message/feedback-report")
    fields = _report_fields(report) if report is not None else email.message.Message()
    feedback_type = (fields.get("Feedback-Type") or "abuse").strip().lower()
    if feedback_type in NOT_COMPLAINTS:
        return []
    original = _original_headers(message)
    recipient = (fields.get("Original-Rcpt-To") or "").strip().strip("<>")
    if not recipient and original is not None:
        recipient = email.utils.parseaddr(original.get("To", ""))[1]
    token = (
        find_token(fields.get("Original-Mail-From", ""))
        or (find_token(original.get("Return-Path", "")) if original is not None else None)
        or find_token(raw.decode("latin-1"))
    )
    reporter = _after_type(fields.get("Reporting-MTA", "")) or _domain(message.get("From", ""))
    return [
        ParsedEvent(
            kind=COMPLAINT,
            recipient=recipient,
            diagnostic=_clean(f"{feedback_type}; {fields.get('User-Agent', '')}".strip("; ")),
            reporting_mta=reporter,
            occurred_at=_date(fields.get("Arrival-Date") or fields.get("Received-Date")) or _date(message.get("Date")),
            token=token,
        )
    ]


def _report_fields(part):
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package reads it as header blocks
        merged = email.message.Message()
        for block in payload:
            for name, value in block.items():
                merged[name] = value
        return merged
    return email.message_from_string(payload if isinstance(payload, str) else "")


# --- anything else --------------------------------------------------------------


def parse_fallback(message, raw):
    """Non-standard notices: flufl.bounce finds the failed addresses; codes come from the text."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 - a detector choking on a strange message is a non-bounce, not a crash
        return []
    text = _plain_text(message)
    status = _status_code(text)
    diagnostic = _diagnostic_line(text)
    reporter = _domain(message.get("From", ""))
    when = _date(message.get("Date"))
    token = _token_in_original(message) or find_token(raw.decode("latin-1"))
    events = []
    for addresses, default_kind in ((permanent, HARD), (temporary, SOFT)):
        for address in sorted(addresses):
            kind = default_kind if default_kind == SOFT or not status else _kind(status)
            events.append(
                ParsedEvent(
                    kind=kind,
                    recipient=address.decode("utf-8", "replace"),
                    status_code=status,
                    diagnostic=diagnostic,
                    reporting_mta=reporter,
                    occurred_at=when,
                    token=token,
                )
            )
    return events


# --- helpers --------------------------------------------------------------------


def _find_part(message, content_type):
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _original_headers(message):
    """The headers of the reported message (message/rfc822 or text/rfc822-headers part), or None."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            return payload[0] if isinstance(payload, list) and payload else None
        if kind == "text/rfc822-headers":
            return email.message_from_bytes(part.get_payload(decode=True) or b"")
    return None


def _token_in_original(message):
    """The token in the reported message's headers (read as text: no second parse of them)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            return find_token((part.get_payload(decode=True) or b"").decode("latin-1"))
        if kind == "message/rfc822":
            payload = part.get_payload()
            original = payload[0] if isinstance(payload, list) and payload else None
            return find_token(str(original.get("Return-Path", ""))) if original is not None else None
    return None


def _kind(status):
    if status.startswith("4.") or status in SOFT_PERMANENT_CODES:
        return SOFT
    return HARD


def _status_code(text):
    """The enhanced status code (RFC 3463) in a text, else one made from a bare SMTP reply code (554 → 5.0.0)."""
    match = STATUS_CODE.search(text or "")
    if match:
        return match.group(1)
    reply = re.search(r"(?:^|\s)([45][0-5]\d)[\s:-]", text or "")
    return f"{reply.group(1)[0]}.0.0" if reply else ""


def _after_type(value):
    """`rfc822; someone@example.com` → `someone@example.com` (RFC 3464's typed fields)."""
    value = " ".join(str(value or "").split())
    kind, semicolon, rest = value.partition(";")
    return rest.strip().strip("<>") if semicolon and " " not in kind.strip() else value


def _clean(text):
    return " ".join(str(text).split())[:MAX_TEXT]


def _plain_text(message):
    chunks = []
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_type() != "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            chunks.append(payload.decode(part.get_content_charset() or "latin-1", "replace"))
        if part.get_content_type() == "message/rfc822":
            break  # the quoted original is not the notice
    return "\n".join(chunks)


def _diagnostic_line(text):
    """The line that carries the server's reply (a status code or an SMTP reply code), else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if STATUS_CODE.search(line) or SMTP_REPLY.match(line):
            return _clean(line)
    return _clean(lines[0]) if lines else ""


def _domain(address):
    return email.utils.parseaddr(str(address or ""))[1].rpartition("@")[2].lower()


def _date(value):
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

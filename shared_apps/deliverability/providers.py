"""Provider webhooks: check each request's signature and turn its payload into events.

No database here: each function gets the body, the headers and the
workspace's credentials, and returns `Incoming` events (or raises
WebhookError with the HTTP status to answer). Events the feedback loop does
not act on (delivered, opened, clicked, deferred) are left out.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from django.conf import settings
from django.core.cache import cache

from tenant_apps.feedback.incoming import Incoming
from tenant_apps.feedback.verp import PROVIDER_FIELD, read_token, token_of

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
TOKEN_FIELD = PROVIDER_FIELD  # the custom argument / variable / metadata carrying a VERP token, when set


class WebhookError(Exception):
    status = 400


class BadSignature(WebhookError):
    status = 401


class NotConfigured(WebhookError):
    status = 404


@dataclass
class HookResult:
    events: list[Incoming] = field(default_factory=list)
    subscribe_url: str = ""  # SNS asks to confirm a subscription


def load_json(body: bytes):
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise WebhookError("malformed JSON") from error


def _delivery_id(token_or_address, workspace_id):
    """The delivery a VERP token names, if it is genuine and of this workspace."""
    if not token_or_address:
        return None
    token = token_of(token_or_address) or token_or_address
    target = read_token(str(token))
    return target.delivery_id if target and target.workspace_id == workspace_id else None


def _when(value):
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value, limit=2000):
    return " ".join(str(value or "").split())[:limit]


# --- SendGrid: signed event webhook (ECDSA P-256 over timestamp + body) ---------------------


def sendgrid(body: bytes, headers, public_key: str, workspace_id: int) -> HookResult:
    if not public_key:
        raise NotConfigured("SendGrid is not set up for this workspace")
    signature = headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (ValueError, TypeError, InvalidSignature, binascii.Error) as error:
        raise BadSignature("bad SendGrid signature") from error
    payload = load_json(body)
    if not isinstance(payload, list):
        raise WebhookError("SendGrid posts a list of events")
    return HookResult([e for item in payload if (e := _sendgrid_event(item, workspace_id))])


def _sendgrid_event(item, workspace_id):
    if not isinstance(item, dict):
        raise WebhookError("an event is not an object")
    name = item.get("event")
    if name == "bounce":
        kind = SOFT if item.get("type") == "blocked" else HARD
    elif name == "spamreport":
        kind = COMPLAINT
    else:
        return None  # delivered, open, click, deferred, dropped…: not feedback to act on
    return Incoming(
        kind=kind,
        source="sendgrid",
        email=str(item.get("email", ""))[:254],
        delivery_id=_delivery_id(item.get(TOKEN_FIELD), workspace_id),
        status_code=str(item.get("status", ""))[:16],
        diagnostic=_text(item.get("reason")),
        reporting_mta="sendgrid.net",
        occurred_at=_when(item.get("timestamp")),
        raw=json.dumps(item)[:20000],
        provider_event_id=str(item.get("sg_event_id") or "") or None,
    )


# --- Mailgun: HMAC-SHA256(signing key, timestamp + token) ---------------------------------------


def mailgun(body: bytes, signing_key: str, workspace_id: int) -> HookResult:
    if not signing_key:
        raise NotConfigured("Mailgun is not set up for this workspace")
    payload = load_json(body)
    signature = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(signature, dict):
        raise BadSignature("no Mailgun signature")
    signed = f"{signature.get('timestamp', '')}{signature.get('token', '')}".encode()
    expected = hmac.new(signing_key.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
        raise BadSignature("bad Mailgun signature")
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise WebhookError("no event-data")
    event = _mailgun_event(data, workspace_id)
    return HookResult([event] if event else [])


def _mailgun_event(data, workspace_id):
    name, severity = data.get("event"), data.get("severity")
    if name == "failed":
        kind = HARD if severity == "permanent" else SOFT
        if severity == "temporary":
            return None  # Mailgun retries temporary failures itself
    elif name == "complained":
        kind = COMPLAINT
    else:
        return None
    status = data.get("delivery-status") or {}
    variables = data.get("user-variables") or {}
    return Incoming(
        kind=kind,
        source="mailgun",
        email=str(data.get("recipient", ""))[:254],
        delivery_id=_delivery_id(variables.get(TOKEN_FIELD) if isinstance(variables, dict) else None, workspace_id),
        status_code=_status_from(status.get("enhanced-code") or status.get("code")),
        diagnostic=_text(status.get("description") or status.get("message")),
        reporting_mta=str(status.get("mx-host") or "mailgun.org")[:255],
        occurred_at=_when(data.get("timestamp")),
        raw=json.dumps(data)[:20000],
        provider_event_id=str(data.get("id") or "") or None,
    )


def _status_from(code):
    code = str(code or "")
    if re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", code):
        return code
    return f"{code[0]}.0.0" if re.fullmatch(r"[245]\d\d", code) else ""


# --- Postmark: HTTP basic auth on the webhook URL --------------------------------------------------


def postmark(body: bytes, authorization: str, username: str, password: str, workspace_id: int) -> HookResult:
    if not (username and password):
        raise NotConfigured("Postmark is not set up for this workspace")
    scheme, _space, encoded = (authorization or "").partition(" ")
    try:
        given = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(given.encode(), f"{username}:{password}".encode()):
        raise BadSignature("bad Postmark credentials")
    data = load_json(body)
    if not isinstance(data, dict):
        raise WebhookError("Postmark posts one object")
    record = data.get("RecordType")
    if record == "Bounce":
        kind = HARD if data.get("Type") in ("HardBounce", "BadEmailAddress", "ManuallyDeactivated") else SOFT
        if data.get("Type") not in POSTMARK_BOUNCES:
            return HookResult()  # transient, auto-responder, subscribe requests…: not a bounce of ours
    elif record == "SpamComplaint":
        kind = COMPLAINT
    else:
        return HookResult()
    metadata = data.get("Metadata") if isinstance(data.get("Metadata"), dict) else {}
    return HookResult(
        [
            Incoming(
                kind=kind,
                source="postmark",
                email=str(data.get("Email", ""))[:254],
                delivery_id=_delivery_id(
                    metadata.get(TOKEN_FIELD) if isinstance(metadata, dict) else None, workspace_id
                ),
                status_code=_status_from(_first_code(data.get("Details"))),
                diagnostic=_text(data.get("Details") or data.get("Description")),
                reporting_mta="postmarkapp.com",
                occurred_at=_when(data.get("BouncedAt")),
                raw=json.dumps(data)[:20000],
                provider_event_id=f"{record}:{data.get('ID')}" if data.get("ID") is not None else None,
            )
        ]
    )


POSTMARK_BOUNCES = {"HardBounce", "SoftBounce", "BadEmailAddress", "ManuallyDeactivated", "DnsError", "Blocked"}


def _first_code(text):
    """The enhanced status code in a text (5.1.1), else its SMTP reply code (550)."""
    text = str(text or "")
    match = re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", text) or re.search(r"\b([245]\d\d)\b", text)
    return match.group(1) if match else ""


# --- Amazon SES through SNS: signed with a certificate from an allowed URL ----------------------

SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


def sns_url_allowed(url: str) -> bool:
    return bool(re.match(settings.FEEDBACK_SNS_URL_PATTERN, url or ""))


def fetch_certificate(url: str) -> bytes:
    """The PEM at an allowed URL (cached: SNS signs with few certificates)."""
    key = f"feedback:sns-cert:{hashlib.sha256(url.encode()).hexdigest()}"
    pem = cache.get(key)
    if pem is None:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - only URLs matching the pattern
            pem = response.read(65536)
        cache.set(key, pem, 24 * 3600)
    return pem


def verify_sns(message: dict, fetch: Callable[[str], bytes] = fetch_certificate) -> None:
    kind = message.get("Type")
    if kind not in SNS_FIELDS:
        raise WebhookError("unknown SNS message type")
    url = str(message.get("SigningCertURL") or message.get("SigningCertUrl") or "")
    if not sns_url_allowed(url):
        raise BadSignature("certificate URL not allowed")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))  # noqa: S303
    if algorithm is None:
        raise BadSignature("unknown signature version")
    text = "".join(f"{name}\n{message[name]}\n" for name in SNS_FIELDS[kind] if message.get(name) is not None)
    try:
        certificate = x509.load_pem_x509_certificate(fetch(url))
        signature = base64.b64decode(str(message.get("Signature", "")))
        certificate.public_key().verify(signature, text.encode(), padding.PKCS1v15(), algorithm)
    except (ValueError, TypeError, InvalidSignature, binascii.Error, OSError) as error:
        raise BadSignature("bad SNS signature") from error


def ses(body: bytes, topic_arn: str, workspace_id: int, fetch=fetch_certificate) -> HookResult:
    message = load_json(body)
    if not isinstance(message, dict):
        raise WebhookError("an SNS message is an object")
    verify_sns(message, fetch)
    if topic_arn and message.get("TopicArn") != topic_arn:
        raise NotConfigured("not this workspace's SNS topic")
    if message["Type"] == "SubscriptionConfirmation":
        url = str(message.get("SubscribeURL", ""))
        if not sns_url_allowed(url):
            raise WebhookError("subscription URL not allowed")
        return HookResult(subscribe_url=url)
    if message["Type"] != "Notification":
        return HookResult()
    notification = load_json(str(message.get("Message", "")).encode())
    if not isinstance(notification, dict):
        raise WebhookError("the SES notification is not an object")
    return HookResult(_ses_events(notification, workspace_id, message.get("MessageId", "")))


def _ses_events(note, workspace_id, message_id):
    kind_name = note.get("notificationType") or note.get("eventType")
    mail = note.get("mail") or {}
    delivery_id = _delivery_id(mail.get("source"), workspace_id)
    raw = json.dumps(note)[:20000]
    events = []
    if kind_name == "Bounce":
        bounce = note.get("bounce") or {}
        kind = HARD if bounce.get("bounceType") == "Permanent" else SOFT
        for index, recipient in enumerate(bounce.get("bouncedRecipients") or []):
            events.append(
                Incoming(
                    kind=kind,
                    source="ses",
                    email=str(recipient.get("emailAddress", ""))[:254],
                    delivery_id=delivery_id,
                    status_code=_status_from(recipient.get("status")),
                    diagnostic=_text(recipient.get("diagnosticCode") or bounce.get("bounceSubType")),
                    reporting_mta=_text(bounce.get("reportingMTA"), 255).removeprefix("dns; "),
                    occurred_at=_when(bounce.get("timestamp")),
                    raw=raw,
                    provider_event_id=f"{bounce.get('feedbackId') or message_id}:{index}",
                )
            )
    elif kind_name == "Complaint":
        complaint = note.get("complaint") or {}
        for index, recipient in enumerate(complaint.get("complainedRecipients") or []):
            events.append(
                Incoming(
                    kind=COMPLAINT,
                    source="ses",
                    email=str(recipient.get("emailAddress", ""))[:254],
                    delivery_id=delivery_id,
                    diagnostic=_text(complaint.get("complaintFeedbackType") or "abuse"),
                    reporting_mta=_text(complaint.get("userAgent"), 255),
                    occurred_at=_when(complaint.get("timestamp")),
                    raw=raw,
                    provider_event_id=f"{complaint.get('feedbackId') or message_id}:{index}",
                )
            )
    return events

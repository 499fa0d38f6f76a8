"""Provider webhooks at /hooks/<provider>/<workspace token>/ on the public host, with real signatures."""

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.db import connection

from shared_apps.deliverability.services import feedback_of
from tenant_apps.delivery.models import Delivery
from tenant_apps.feedback.models import FeedbackEvent, Suppression
from tenant_apps.feedback.verp import return_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks(workspace, public_client):
    """The acme workspace's webhook settings and a poster for the public host."""
    feedback = feedback_of(workspace)

    def post(provider, body, token=None, **headers):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return public_client.post(
            f"/hooks/{provider}/{token or feedback.hook_token}/", data, content_type="application/json", **headers
        )

    post.feedback = feedback
    return post


def recorded(workspace):
    connection.set_tenant(workspace)
    events = list(FeedbackEvent.objects.order_by("id"))
    connection.set_schema_to_public()
    return events


# --- SendGrid: ECDSA ------------------------------------------------------------------------------


@pytest.fixture
def sendgrid_key(hooks):
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    hooks.feedback.sendgrid_public_key = base64.b64encode(der).decode()
    hooks.feedback.save()
    return key


def sendgrid_post(hooks, key, events, *, body=None, timestamp="1764500000"):
    body = body if body is not None else json.dumps(events).encode()
    signature = base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    return hooks(
        "sendgrid",
        body,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )


def sendgrid_events(email):
    return [
        {"email": email, "event": "bounce", "type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 no such user",
         "timestamp": 1764500000, "sg_event_id": "sg-1"},
        {"email": email, "event": "delivered", "timestamp": 1764499990, "sg_event_id": "sg-0"},
        {"email": "other@mail.example", "event": "spamreport", "timestamp": 1764500001, "sg_event_id": "sg-2"},
    ]  # fmt: skip


def test_sendgrid_signed_events_are_recorded_on_the_latest_delivery_to_the_address(
    hooks, sendgrid_key, sent_run, workspace
):
    _run, (delivery,) = sent_run(1, workspace)
    connection.set_schema_to_public()
    response = sendgrid_post(hooks, sendgrid_key, sendgrid_events(delivery.email))
    assert response.status_code == 200 and response.json() == {"queued": 2}
    events = recorded(workspace)
    assert [(e.kind, e.email, e.status_code, e.provider_event_id) for e in events] == [
        ("hard", delivery.email, "5.1.1", "sg-1"),
        ("complaint", "other@mail.example", "", "sg-2"),
    ]
    assert events[0].delivery_id == delivery.pk and events[1].delivery_id is None
    connection.set_tenant(workspace)
    assert Delivery.objects.get(pk=delivery.pk).status == "bounced"
    assert set(Suppression.objects.values_list("email", flat=True)) == {delivery.email, "other@mail.example"}


def test_sendgrid_replayed_events_are_recorded_once(hooks, sendgrid_key, workspace):
    events = sendgrid_events("x@mail.example")
    assert sendgrid_post(hooks, sendgrid_key, events).status_code == 200
    assert sendgrid_post(hooks, sendgrid_key, events).status_code == 200
    assert len(recorded(workspace)) == 2


def test_sendgrid_wrong_key_or_tampered_body_gets_401_and_records_nothing(hooks, sendgrid_key, workspace):
    other = ec.generate_private_key(ec.SECP256R1())
    assert sendgrid_post(hooks, other, sendgrid_events("x@mail.example")).status_code == 401
    body = json.dumps(sendgrid_events("x@mail.example")).encode()
    signature = base64.b64encode(sendgrid_key.sign(b"1764500000" + body, ec.ECDSA(hashes.SHA256()))).decode()
    tampered = hooks(
        "sendgrid",
        body.replace(b"x@mail.example", b"y@mail.example"),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP="1764500000",
    )
    assert tampered.status_code == 401
    assert hooks("sendgrid", body).status_code == 401  # no signature at all
    assert recorded(workspace) == []


def test_sendgrid_signed_but_malformed_json_gets_400(hooks, sendgrid_key, workspace):
    assert sendgrid_post(hooks, sendgrid_key, None, body=b"[{not json").status_code == 400
    assert sendgrid_post(hooks, sendgrid_key, None, body=b'{"event": "bounce"}').status_code == 400
    assert sendgrid_post(hooks, sendgrid_key, None, body=b'["bounce"]').status_code == 400
    assert recorded(workspace) == []


def test_sendgrid_not_set_up_gets_404(hooks, workspace):
    assert hooks("sendgrid", b"[]").status_code == 404


# --- Mailgun: HMAC-SHA256 ---------------------------------------------------------------------------


def mailgun_body(key, data, *, token="a" * 50, timestamp="1764500000"):
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}


MAILGUN_FAILED = {
    "id": "mg-1",
    "event": "failed",
    "severity": "permanent",
    "recipient": "gone@mail.example",
    "timestamp": 1764500000.5,
    "delivery-status": {"code": 550, "description": "No such user", "mx-host": "mx.mail.example"},
}


@pytest.fixture
def mailgun_key(hooks):
    hooks.feedback.mailgun_signing_key = "key-0123456789abcdef"
    hooks.feedback.save()
    return "key-0123456789abcdef"


def test_mailgun_signed_failure_is_recorded_once(hooks, mailgun_key, workspace):
    body = mailgun_body(mailgun_key, MAILGUN_FAILED)
    assert hooks("mailgun", body).status_code == 200
    assert hooks("mailgun", body).status_code == 200
    [event] = recorded(workspace)
    assert (event.kind, event.email, event.status_code, event.reporting_mta) == (
        "hard",
        "gone@mail.example",
        "5.0.0",
        "mx.mail.example",
    )


def test_mailgun_temporary_failures_and_opens_are_not_recorded(hooks, mailgun_key, workspace):
    temporary = {**MAILGUN_FAILED, "id": "mg-2", "severity": "temporary"}
    opened = {"id": "mg-3", "event": "opened", "recipient": "a@mail.example"}
    assert hooks("mailgun", mailgun_body(mailgun_key, temporary)).json() == {"queued": 0}
    assert hooks("mailgun", mailgun_body(mailgun_key, opened)).json() == {"queued": 0}
    assert recorded(workspace) == []


def test_mailgun_bad_signature_gets_401(hooks, mailgun_key, workspace):
    assert hooks("mailgun", mailgun_body("wrong-key", MAILGUN_FAILED)).status_code == 401
    assert hooks("mailgun", {"event-data": MAILGUN_FAILED}).status_code == 401
    assert hooks("mailgun", b"{broken").status_code == 400
    assert recorded(workspace) == []


def test_mailgun_complaint_with_a_verp_token_hits_that_delivery(hooks, mailgun_key, sent_run, workspace):
    _run, (first, second) = sent_run(2, workspace)
    connection.set_schema_to_public()
    data = {
        "id": "mg-9",
        "event": "complained",
        "recipient": first.email,  # the address alone would pick the other delivery
        "user-variables": {"rassylka": return_path(workspace.pk, second.pk)},
    }
    hooks("mailgun", mailgun_body(mailgun_key, data))
    [event] = recorded(workspace)
    assert (event.kind, event.delivery_id, event.email) == ("complaint", second.pk, second.email)


# --- Postmark: basic auth ------------------------------------------------------------------------------

POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Email": "nobody@mail.example",
    "BouncedAt": "2026-11-30T10:00:00Z",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
    "Description": "The server was unable to deliver your message",
}


@pytest.fixture
def postmark_auth(hooks):
    hooks.feedback.postmark_username = "postmark"
    hooks.feedback.postmark_password = "s3cret-pass"
    hooks.feedback.save()
    return "Basic " + base64.b64encode(b"postmark:s3cret-pass").decode()


def test_postmark_with_credentials_records_bounce_and_complaint_once(hooks, postmark_auth, workspace):
    complaint = {"RecordType": "SpamComplaint", "ID": 42, "Email": "angry@mail.example", "BouncedAt": "2026-11-30"}
    for payload in (POSTMARK_BOUNCE, complaint, POSTMARK_BOUNCE):
        assert hooks("postmark", payload, HTTP_AUTHORIZATION=postmark_auth).status_code == 200
    events = recorded(workspace)
    assert [(e.kind, e.email, e.status_code) for e in events] == [
        ("hard", "nobody@mail.example", "5.1.1"),
        ("complaint", "angry@mail.example", ""),
    ]


def test_postmark_wrong_or_missing_credentials_get_401(hooks, postmark_auth, workspace):
    wrong = "Basic " + base64.b64encode(b"postmark:guess").decode()
    assert hooks("postmark", POSTMARK_BOUNCE, HTTP_AUTHORIZATION=wrong).status_code == 401
    assert hooks("postmark", POSTMARK_BOUNCE, HTTP_AUTHORIZATION="Basic !!!").status_code == 401
    assert hooks("postmark", POSTMARK_BOUNCE).status_code == 401
    assert hooks("postmark", b"nope", HTTP_AUTHORIZATION=postmark_auth).status_code == 400
    assert recorded(workspace) == []


# --- Amazon SES through SNS: a certificate we make, served from an allowed local host ---------------


class CertServer(http.server.BaseHTTPRequestHandler):
    pem = b""
    visits = []

    def do_GET(self):  # noqa: N802 - the http.server interface
        CertServer.visits.append(self.path)
        body = CertServer.pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def sns(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    CertServer.pem, CertServer.visits = cert.public_bytes(serialization.Encoding.PEM), []
    server = http.server.HTTPServer(("127.0.0.1", 0), CertServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.FEEDBACK_SNS_URL_PATTERN = rf"^http://127\.0\.0\.1:{server.server_port}/"

    def message(kind, payload, *, signer=key, version="1", cert_url=None, **fields):
        msg = {
            "Type": kind,
            "MessageId": fields.pop("MessageId", "sns-1"),
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-feedback",
            "Message": json.dumps(payload) if not isinstance(payload, str) else payload,
            "Timestamp": "2026-11-30T10:00:00.000Z",
            "SignatureVersion": version,
            "SigningCertURL": cert_url or f"{base}/SimpleNotificationService-1.pem",
            **fields,
        }
        order = {
            "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
        }.get(kind, ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"))
        text = "".join(f"{n}\n{msg[n]}\n" for n in order if n in msg)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS version 1 is SHA1
        msg["Signature"] = base64.b64encode(signer.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
        return msg

    message.base = base
    yield message
    server.shutdown()


def ses_bounce(source, email="bounced@mail.example", feedback_id="fb-1"):
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": email, "action": "failed", "status": "5.1.1",
                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
            ],
            "timestamp": "2026-11-30T10:00:00.000Z",
            "feedbackId": feedback_id,
            "reportingMTA": "dns; a8-70.smtp-out.amazonses.com",
        },
        "mail": {"source": source, "messageId": "ses-msg-1"},
    }  # fmt: skip


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_signed_bounce_names_its_delivery_through_the_return_path(hooks, sns, sent_run, workspace, version):
    _run, (first, second) = sent_run(2, workspace)
    connection.set_schema_to_public()
    payload = ses_bounce(return_path(workspace.pk, second.pk), email=second.email)
    assert hooks("ses", sns("Notification", payload, version=version)).status_code == 200
    [event] = recorded(workspace)
    assert (event.kind, event.delivery_id, event.status_code, event.reporting_mta, event.source) == (
        "hard",
        second.pk,
        "5.1.1",
        "a8-70.smtp-out.amazonses.com",
        "ses",
    )


def test_ses_complaint_and_replay(hooks, sns, workspace):
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "c@mail.example"}], "feedbackId": "fb-c",
                      "complaintFeedbackType": "abuse", "timestamp": "2026-11-30T10:00:00Z"},
        "mail": {"source": "news@acme.example"},
    }  # fmt: skip
    message = sns("Notification", complaint)
    assert hooks("ses", message).status_code == 200
    assert hooks("ses", message).status_code == 200
    assert [(e.kind, e.email) for e in recorded(workspace)] == [("complaint", "c@mail.example")]


def test_ses_subscription_confirmation_visits_the_subscribe_url(hooks, sns, workspace):
    message = sns(
        "SubscriptionConfirmation",
        "You have chosen to subscribe",
        SubscribeURL=f"{sns.base}/?Action=ConfirmSubscription&Token=abc",
        Token="abc",
    )
    assert hooks("ses", message).status_code == 200
    assert "/?Action=ConfirmSubscription&Token=abc" in CertServer.visits
    assert recorded(workspace) == []


def test_ses_bad_signatures_and_foreign_certificates_get_401(hooks, sns, workspace):
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = ses_bounce("x@y.z")
    assert hooks("ses", sns("Notification", payload, signer=intruder)).status_code == 401
    tampered = sns("Notification", payload)
    tampered["Message"] = tampered["Message"].replace("bounced@", "other@")
    assert hooks("ses", tampered).status_code == 401
    foreign = sns("Notification", payload, cert_url="https://evil.example/cert.pem")
    assert hooks("ses", foreign).status_code == 401
    assert hooks("ses", sns("Notification", payload, version="9")).status_code == 401
    assert not any(v.startswith("/cert") for v in CertServer.visits)  # the evil URL was never fetched
    assert recorded(workspace) == []


def test_ses_subscribe_url_on_another_host_is_not_visited(hooks, sns, workspace):
    message = sns("SubscriptionConfirmation", "x", SubscribeURL="https://evil.example/confirm", Token="t")
    assert hooks("ses", message).status_code == 400
    assert not any("confirm" in visit for visit in CertServer.visits)  # only the certificate was fetched


def test_ses_other_workspace_topic_gets_404(hooks, sns, workspace):
    hooks.feedback.ses_topic_arn = "arn:aws:sns:eu-west-1:123456789012:mine"
    hooks.feedback.save()
    assert hooks("ses", sns("Notification", ses_bounce("x@y.z"))).status_code == 404
    assert recorded(workspace) == []


def test_a_token_of_workspace_a_inside_workspace_b_hook_is_not_trusted(
    hooks, sns, sent_run, workspace, other_workspace
):
    _run, (delivery,) = sent_run(1, workspace)
    connection.set_schema_to_public()
    other = feedback_of(other_workspace)
    payload = ses_bounce(return_path(workspace.pk, delivery.pk), email="someone@else.example")
    assert hooks("ses", sns("Notification", payload), token=other.hook_token).status_code == 200
    assert recorded(workspace) == []
    [event] = recorded(other_workspace)
    assert event.delivery_id is None and event.email == "someone@else.example"


# --- every provider -----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["ses", "sendgrid", "mailgun", "postmark"])
def test_unknown_workspace_token_gets_404(hooks, provider):
    assert hooks(provider, b"{}", token="no-such-token").status_code == 404


def test_unknown_provider_gets_404(hooks):
    assert hooks("sparkpost", b"{}").status_code == 404


@pytest.mark.parametrize("provider", ["ses", "sendgrid", "mailgun", "postmark"])
def test_get_is_not_allowed(hooks, public_client, provider):
    assert public_client.get(f"/hooks/{provider}/{hooks.feedback.hook_token}/").status_code == 405


@pytest.mark.parametrize("provider", ["ses", "sendgrid", "mailgun", "postmark"])
def test_bodies_over_one_megabyte_get_413_and_nothing_is_read(hooks, mailgun_key, postmark_auth, provider, workspace):
    big = b"[" + b" " * (1024 * 1024) + b"]"
    assert hooks(provider, big, HTTP_AUTHORIZATION=postmark_auth).status_code == 413
    assert recorded(workspace) == []


def test_a_body_just_under_one_megabyte_is_accepted(hooks, sendgrid_key, workspace):
    events = sendgrid_events("x@mail.example")
    body = json.dumps(events).encode()
    body = body[:-1] + b" " * (1024 * 1024 - len(body)) + b"]"
    assert len(body) == 1024 * 1024
    assert sendgrid_post(hooks, sendgrid_key, None, body=body).status_code == 200
    assert len(recorded(workspace)) == 2


def test_inactive_workspace_gets_404(hooks, workspace, mailgun_key):
    workspace.is_active = False
    workspace.save()
    assert hooks("mailgun", mailgun_body(mailgun_key, MAILGUN_FAILED)).status_code == 404


def test_signed_payloads_of_the_wrong_shape_get_400_not_500(hooks, sns, sendgrid_key, workspace):
    odd_ses = {"notificationType": "Bounce", "bounce": {"bouncedRecipients": ["not-an-object"]}, "mail": []}
    assert hooks("ses", sns("Notification", odd_ses)).status_code == 400
    assert hooks("ses", sns("Notification", "[1, 2]")).status_code == 400
    assert sendgrid_post(
        hooks, sendgrid_key, [{"event": "bounce", "email": "a@b.c", "timestamp": {"x": 1}}]
    ).json() == {"queued": 1}
    assert [e.occurred_at is not None for e in recorded(workspace)] == [True]  # an unreadable time is "now"

"""DKIM signing through OpenSSL, verified by dkimpy against the key a local DNS server publishes."""

import dkim as dkimpy
import pytest

from tenant_apps.delivery.compose import build_message
from tenant_apps.senders import dkim
from tenant_apps.senders.dnscheck import dkimpy_dnsfunc


@pytest.fixture(scope="module")
def private_pem():
    return dkim.generate_private_key(2048)


def message(**extra):
    return build_message(
        from_header="Acme News <news@acme.example>",
        to="client@example.com",
        subject="Привет,   мир — длинная тема письма, чтобы заголовок был свёрнут на несколько строк",
        text="Строка с пробелами в конце   \nи    несколько  пробелов подряд\n\n\n",
        html="<p>Здравствуйте!</p>",
        headers={
            "List-Unsubscribe": "<https://acme.localhost/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        msgid_domain="acme.example",
        **extra,
    )


def test_generated_key_is_rsa_2048(private_pem):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem, password=None)
    assert key.key_size == 2048


def test_signed_message_verifies_with_dkimpy_against_the_key_in_dns(private_pem, dns_zone):
    dns_zone.publish("s1._domainkey.acme.example", dkim.dns_record_value(private_pem))
    signed = dkim.DkimSigner("acme.example", "s1", private_pem).sign(message())
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=acme.example; s=s1;")
    assert dkimpy.verify(signed, dnsfunc=dkimpy_dnsfunc)


def test_signature_covers_from_subject_and_unsubscribe_headers(private_pem):
    signed = dkim.DkimSigner("acme.example", "s1", private_pem).sign(message())
    header = signed.split(b"\r\n b=")[0]
    assert (
        b"h=from:to:subject:date:message-id:mime-version:content-type:list-unsubscribe:list-unsubscribe-post;" in header
    )


def test_changed_body_fails_verification(private_pem, dns_zone):
    dns_zone.publish("s1._domainkey.acme.example", dkim.dns_record_value(private_pem))
    signed = dkim.DkimSigner("acme.example", "s1", private_pem).sign(message())
    tampered = signed[:-20] + b"A" + signed[-19:]
    assert not dkimpy.verify(tampered, dnsfunc=dkimpy_dnsfunc)


def test_signature_fails_when_dns_has_another_key(private_pem, dns_zone):
    dns_zone.publish("s1._domainkey.acme.example", dkim.dns_record_value(dkim.generate_private_key(2048)))
    signed = dkim.DkimSigner("acme.example", "s1", private_pem).sign(message())
    assert not dkimpy.verify(signed, dnsfunc=dkimpy_dnsfunc)


def test_relaxed_canonicalisation_matches_dkimpy():
    from dkim.canonicalization import Relaxed

    for body in [b"a  b \t\r\nc\t \r\n\r\n\r\n", b"abc\r\nd e\r\n\r\n", b"x", b"a \r\n", b"QUJD\r\nREVG\r\n"]:
        assert dkim.canonical_body(body) == Relaxed.canonicalize_body(body), body
    headers = [(b"Subject", b"  Hello \r\n\t  world  "), (b"X-Y", b"z")]
    assert [dkim.canonical_header(n, v) for n, v in headers] == [
        n + b":" + v for n, v in Relaxed.canonicalize_headers(headers)
    ]


def test_empty_body_canonicalises_to_nothing():
    assert dkim.canonical_body(b"") == b""
    assert dkim.canonical_body(b"\r\n\r\n") == b""


def test_long_public_key_is_published_as_several_strings(private_pem):
    value = dkim.dns_record_value(private_pem)
    parts = dkim.split_txt(value)
    assert len(value) > 255 and len(parts) == 2 and "".join(parts) == value

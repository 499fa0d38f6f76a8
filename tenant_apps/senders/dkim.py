"""DKIM signing (RFC 6376, rsa-sha256, relaxed/relaxed), the RSA step through OpenSSL.

A pure module: no ORM, no settings. `DkimSigner` is built once per run (the
private key is parsed once) and `sign(message)` returns the message with its
DKIM-Signature header in front. The canonicalisation and hashing are written
here (they are cheap); the RSA signature is made by `cryptography`, i.e.
OpenSSL, about 1 ms per signature, where dkimpy's own signer does the modular
arithmetic in pure Python (about ten times slower). dkimpy is used in the
tests to verify what this module signs.
"""

import base64
import hashlib
import re
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# What we sign: every header the engine writes that a forwarder must not change.
SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "reply-to",
)

_WSP_RUN = re.compile(rb"[ \t]+")
_WSP_AT_EOL = re.compile(rb"[ \t]+\r\n")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


def generate_private_key(bits: int = 2048) -> bytes:
    """A new RSA key, PEM (PKCS#8, unencrypted: it is encrypted at rest by the caller)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_base64(private_pem: bytes) -> str:
    """The p= value: base64 of the DER SubjectPublicKeyInfo."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def dns_record_value(private_pem: bytes) -> str:
    """The TXT record to publish at <selector>._domainkey.<domain>."""
    return f"v=DKIM1; k=rsa; p={public_key_base64(private_pem)}"


def split_txt(value: str, size: int = 255) -> list[str]:
    """A TXT value longer than 255 bytes goes into DNS as several strings (RFC 7208 §3.3)."""
    return [value[i : i + size] for i in range(0, len(value), size)]


def canonical_header(name: bytes, value: bytes) -> bytes:
    """Relaxed header canonicalisation (RFC 6376 §3.4.2)."""
    value = _WSP_RUN.sub(b" ", _FOLD.sub(b"", value)).strip(b" \t\r\n")
    return name.strip().lower() + b":" + value + b"\r\n"


def canonical_body(body: bytes) -> bytes:
    """Relaxed body canonicalisation (RFC 6376 §3.4.4): WSP runs → one SP, none at line ends or trailing lines."""
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    # Campaign bodies are base64 lines: usually nothing to change, and three substring scans say so.
    if b"\t" in body or b"  " in body or b" \r\n" in body:
        body = _WSP_AT_EOL.sub(b"\r\n", _WSP_RUN.sub(b" ", body))
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def split_message(message: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Header fields (name, raw value with folds) and the body of an RFC 5322 message with CRLF line ends."""
    head, sep, body = message.partition(b"\r\n\r\n")
    if not sep:
        head, body = message, b""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, _colon, value = line.partition(b":")
            fields.append((name, value))
    return fields, body


class DkimSigner:
    """Signs messages for one domain and selector; build once per run (parses the key once)."""

    def __init__(self, domain: str, selector: str, private_pem: bytes, signed_headers=SIGNED_HEADERS):
        self.domain = domain
        self.selector = selector
        self.signed_headers = tuple(signed_headers)
        self._key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(self._key, rsa.RSAPrivateKey):
            raise ValueError("a DKIM key must be RSA")
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()

    def sign(self, message: bytes, *, timestamp: int | None = None) -> bytes:
        """The message with a DKIM-Signature header field prepended."""
        fields, body = split_message(message)
        body_hash = base64.b64encode(hashlib.sha256(canonical_body(body)).digest()).decode("ascii")
        # The last instance of each signed header, as the verifier takes them (RFC 6376 §5.4.2).
        present = {}
        for name, value in fields:
            present[name.strip().lower().decode("ascii", "replace")] = (name, value)
        names = [h for h in self.signed_headers if h in present]
        signed = b"".join(canonical_header(*present[h]) for h in names)
        tags = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain}; s={self.selector};\r\n"
            f" t={int(timestamp if timestamp is not None else time.time())}; h={':'.join(names)};\r\n"
            f" bh={body_hash};\r\n b="
        )
        header_value = (" " + tags).encode("ascii")
        to_sign = signed + canonical_header(b"DKIM-Signature", header_value).rstrip(b"\r\n")
        signature = self._key.sign(to_sign, self._padding, self._hash)
        b64 = base64.b64encode(signature)
        folded = b"\r\n ".join(b64[i : i + 72] for i in range(0, len(b64), 72))
        return b"DKIM-Signature:" + header_value + folded + b"\r\n" + message

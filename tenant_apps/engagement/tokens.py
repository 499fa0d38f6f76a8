"""Signed tracking tokens: (kind, delivery, link number) under a per-workspace key.

A token is `<delivery>.<link>.<signature>` (numbers in base 36; link 0 is the
open pixel). The HMAC key is derived from SECRET_KEY and the workspace's
slug, so a token made for one workspace does not verify on another's host,
and the endpoints check it without any database: the host names the slug.
The signature is 16 base64url characters (96 bits of HMAC-SHA256).
"""

import base64
import hashlib
import hmac

from django.conf import settings
from django.utils.http import int_to_base36

SALT = b"rassylka.engagement"
SIGNATURE_CHARS = 16
OPEN, CLICK = "o", "c"
MAX_NUMBER = 2**63 - 1


class BadToken(Exception):
    """Not a token we signed for this workspace (tampered, truncated, or another workspace's)."""


def workspace_key(slug: str) -> bytes:
    return hashlib.sha256(SALT + b"\0" + settings.SECRET_KEY.encode() + b"\0" + slug.encode()).digest()


class TokenSigner:
    """Signs and checks tokens of one workspace; the keyed HMAC is made once and copied per token."""

    def __init__(self, slug: str):
        self._hmac = hmac.new(workspace_key(slug), digestmod=hashlib.sha256)

    def _signature(self, kind: str, body: str) -> str:
        mac = self._hmac.copy()
        mac.update(f"{kind}:{body}".encode())
        return base64.urlsafe_b64encode(mac.digest()[:12]).decode()

    def make(self, kind: str, delivery_id: int, link: int = 0) -> str:
        body = f"{int_to_base36(delivery_id)}.{int_to_base36(link)}"
        return f"{body}.{self._signature(kind, body)}"

    def read(self, kind: str, token: str) -> tuple[int, int]:
        """(delivery_id, link number); raises BadToken."""
        body, sep, signature = token.rpartition(".")
        if not sep or len(signature) != SIGNATURE_CHARS:
            raise BadToken(token)
        if not hmac.compare_digest(signature, self._signature(kind, body)):
            raise BadToken(token)
        delivery, _sep, link = body.partition(".")
        delivery_id, number = int(delivery, 36), int(link, 36)
        if not (0 < delivery_id <= MAX_NUMBER and 0 <= number <= MAX_NUMBER):
            raise BadToken(token)
        return delivery_id, number


_signers: dict[str, TokenSigner] = {}


def signer_for(slug: str) -> TokenSigner:
    """A cached signer per workspace (the endpoints see the same few slugs again and again)."""
    signer = _signers.get(slug)
    if signer is None:
        if len(_signers) > 10_000:
            _signers.clear()
        signer = _signers[slug] = TokenSigner(slug)
    return signer

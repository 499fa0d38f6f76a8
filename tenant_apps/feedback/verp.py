"""VERP return paths: every message's envelope sender names its delivery.

    bounces+<workspace id>-<delivery id>-<mac>@<BOUNCE_DOMAIN>

Numbers in base 36, the MAC the first 60 bits of HMAC-SHA256 in lower-case
base 32 (some MTAs lower-case local parts, so the token must survive that).
The workspace id stands for its schema (public Workspace pk): a schema name
would not fit in the 64 characters a local part may have. A forged or
damaged token fails the MAC and is dropped by the receiver, never acted on.
"""

import base64
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.encoding import force_bytes
from django.utils.http import int_to_base36

PREFIX = "bounces"
# The custom argument / variable / metadata name that carries the token through a provider's webhook.
PROVIDER_FIELD = "rassylka"
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([0-9a-z]{1,13})-([a-z2-7]{12})$")


@dataclass(frozen=True)
class VerpTarget:
    workspace_id: int
    delivery_id: int


def _key():
    # Derived, so a leak of return paths says nothing about SECRET_KEY's other uses.
    return hashlib.sha256(b"rassylka.feedback.verp:" + force_bytes(settings.SECRET_KEY)).digest()


def _mac(key, body):
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:8]).decode().lower()[:12]


class ReturnPaths:
    """Makes the VERP addresses of one run's messages (the key derived once)."""

    def __init__(self, workspace_id, domain=None):
        self.key = _key()
        self.workspace = int_to_base36(workspace_id)
        self.domain = domain or settings.BOUNCE_DOMAIN

    def token(self, delivery_id):
        body = f"{self.workspace}-{int_to_base36(delivery_id)}"
        return f"{body}-{_mac(self.key, body)}"

    def address(self, delivery_id):
        return f"{PREFIX}+{self.token(delivery_id)}@{self.domain}"

    def provider_headers(self, delivery_id):
        """Headers that SendGrid, Mailgun and Postmark echo back in their event webhooks.

        With them a webhook event names its delivery exactly (the same signed token as the
        return path), instead of being matched to the latest delivery to that address.
        """
        token = self.token(delivery_id)
        return {
            "X-SMTPAPI": f'{{"unique_args": {{"{PROVIDER_FIELD}": "{token}"}}}}',  # SendGrid
            "X-Mailgun-Variables": f'{{"{PROVIDER_FIELD}": "{token}"}}',
            f"X-PM-Metadata-{PROVIDER_FIELD}": token,  # Postmark
        }


def return_path(workspace_id, delivery_id):
    return ReturnPaths(workspace_id).address(delivery_id)


def read_token(token):
    """The VerpTarget a token names, or None when it is malformed or forged."""
    match = _TOKEN.match((token or "").strip().lower())
    if not match:
        return None
    workspace, delivery, mac = match.groups()
    if not hmac.compare_digest(_mac(_key(), f"{workspace}-{delivery}"), mac):
        return None
    return VerpTarget(int(workspace, 36), int(delivery, 36))


def token_of(address):
    """The token in `bounces+<token>@domain`, or None for any other address."""
    local, _at, domain = (address or "").strip().strip("<>").rpartition("@")
    prefix, plus, token = local.partition("+")
    if not plus or prefix.lower() != PREFIX or domain.lower() != settings.BOUNCE_DOMAIN.lower():
        return None
    return token


def is_bounce_address(address):
    """Whether the receiver accepts mail for `address`: bounces@ or bounces+anything@ the bounce domain."""
    local, _at, domain = (address or "").strip().strip("<>").rpartition("@")
    if domain.lower() != settings.BOUNCE_DOMAIN.lower():
        return False
    return local.lower() == PREFIX or local.lower().startswith(PREFIX + "+")


@functools.lru_cache(maxsize=8)
def _token_pattern(domain):
    return re.compile(rf"{PREFIX}\+([0-9a-zA-Z-]{{1,60}})@{re.escape(domain)}", re.IGNORECASE)


def find_token(text):
    """The first VERP token in any text (the Return-Path of a message quoted in a complaint)."""
    match = _token_pattern(settings.BOUNCE_DOMAIN).search(text or "")
    return match.group(1) if match else None

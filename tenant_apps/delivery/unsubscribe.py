"""Signed unsubscribe links (RFC 8058 one-click) for a workspace's client, and the preference centre's.

The token carries the workspace's schema and the client id, signed with the
SECRET_KEY; it does not expire (old emails must keep working). The view at
/u/<token>/ on the workspace host accepts it only in that workspace's schema; the
preference centre (/p/<token>/, tenant_apps/audience/public_views.py) takes the same token.
"""

import hashlib
import hmac
import json
import time

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes

from tenant_apps.audience import services as audience
from tenant_apps.audience.models import Client
from tenant_apps.webhooks import events as webhook_events
from tenants.services import site_url

SALT = "rassylka.unsubscribe"


class UnsubscribeLinkError(Exception):
    """The link cannot be used here; str(error) is the reason: "forged" or "unknown"."""


def make_token(schema_name, client_id):
    return signing.dumps([schema_name, client_id], salt=SALT, compress=True)


def read_token(token):
    """(schema_name, client_id); raises signing.BadSignature when forged."""
    schema_name, client_id = signing.loads(token, salt=SALT)
    return schema_name, int(client_id)


def unsubscribe_url(host, schema_name, client_id):
    """The absolute one-click URL on the workspace host."""
    return site_url(host, f"/u/{make_token(schema_name, client_id)}/")


class UnsubscribeLinks:
    """unsubscribe_url() for many clients of one workspace, made fast for a sending run.

    make_token (signing.dumps) builds a signer and derives its HMAC key on
    every call, which costs more than sending the message; here the keyed
    HMAC is made once and copied per link. The tokens are the ones make_token
    makes (signing.dumps), except that they are never compressed (zlib only
    saves a few characters on ids like 10**12); read_token reads both.
    """

    def __init__(self, host, schema_name):
        signer = signing.TimestampSigner(salt=SALT)
        self._sep = signer.sep
        # django.utils.crypto.salted_hmac's derived key, as Signer.signature uses it
        key = hashlib.sha256(force_bytes(signer.salt + "signer") + force_bytes(signer.key)).digest()
        self._hmac = hmac.new(key, digestmod=hashlib.sha256)
        # signing.JSONSerializer's compact JSON of [schema_name, client_id], the constant part once
        self._json_head = "[" + json.dumps(schema_name, separators=(",", ":")) + ","
        self._prefix = site_url(host, "/u/")
        self._preferences_prefix = site_url(host, "/p/")

    def token(self, client_id):
        data = f"{self._json_head}{int(client_id)}]".encode("latin-1")
        # Never compressed: zlib costs more than the rest and rarely shortens JSON this short.
        base64d = signing.b64_encode(data).decode()
        value = f"{base64d}{self._sep}{signing.b62_encode(int(time.time()))}"
        mac = self._hmac.copy()
        mac.update(value.encode())
        return f"{value}{self._sep}{signing.b64_encode(mac.digest()).decode()}"

    def url(self, client_id):
        return f"{self._prefix}{self.token(client_id)}/"

    def urls(self, client_id):
        """(the one-click unsubscribe URL, the preference centre's URL): one token, both pages."""
        token = self.token(client_id)
        return f"{self._prefix}{token}/", f"{self._preferences_prefix}{token}/"


def list_unsubscribe_headers(url):
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def client_for_token(token, schema_name):
    """The Client a link names, in the current schema `schema_name`.

    Raises UnsubscribeLinkError("forged") for a token we did not sign, and
    ("unknown") for a token of another workspace or of a deleted client:
    both mean "nothing here", so another workspace's names do not leak.
    """
    try:
        token_schema, client_id = read_token(token)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise UnsubscribeLinkError("forged") from error
    if token_schema != schema_name:
        raise UnsubscribeLinkError("unknown")
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise UnsubscribeLinkError("unknown")
    return client


def unsubscribe_client(client):
    """Unsubscribe `client`; again is harmless and keeps the first unsubscribed_at."""
    # A conditional UPDATE, so two clicks at once cannot both set the time.
    now = timezone.now()
    with transaction.atomic():
        changed = Client.objects.filter(pk=client.pk, is_subscribed=True).update(
            is_subscribed=False, unsubscribed_at=now, updated=now
        )
        client.refresh_from_db(fields=["is_subscribed", "unsubscribed_at"])
        audience.clients_changed(saved=[client])
        if changed:
            webhook_events.subscription_changed([(client.pk, client.email)], subscribed=False, at=now)
    return client


def resubscribe_client(client):
    """Undo an unsubscription (the recipient asked for it on the page)."""
    with transaction.atomic():
        changed = Client.objects.filter(pk=client.pk, is_subscribed=False).update(
            is_subscribed=True, unsubscribed_at=None, updated=timezone.now()
        )
        client.refresh_from_db(fields=["is_subscribed", "unsubscribed_at"])
        audience.clients_changed(saved=[client])
        if changed:
            webhook_events.subscription_changed([(client.pk, client.email)], subscribed=True)
    return client

"""Signed unsubscribe links (RFC 8058 one-click) for a workspace's client.

The token carries the workspace's schema and the client id, signed with the
SECRET_KEY; it does not expire (old emails must keep working). The view at
/u/<token>/ on the workspace host accepts it only in that workspace's schema.
"""

from django.core import signing
from django.utils import timezone

from tenant_apps.audience.models import Client
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
    Client.objects.filter(pk=client.pk, is_subscribed=True).update(
        is_subscribed=False, unsubscribed_at=now, updated=now
    )
    client.refresh_from_db(fields=["is_subscribed", "unsubscribed_at"])
    return client


def resubscribe_client(client):
    """Undo an unsubscription (the recipient asked for it on the page)."""
    Client.objects.filter(pk=client.pk, is_subscribed=False).update(
        is_subscribed=True, unsubscribed_at=None, updated=timezone.now()
    )
    client.refresh_from_db(fields=["is_subscribed", "unsubscribed_at"])
    return client

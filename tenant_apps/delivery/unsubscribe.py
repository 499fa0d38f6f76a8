"""Signed unsubscribe links (RFC 8058 one-click) for a workspace's client.

The token carries the workspace's schema and the client id, signed with the
SECRET_KEY; it does not expire (old emails must keep working).
"""

from django.core import signing

from tenants.services import site_url

SALT = "rassylka.unsubscribe"


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

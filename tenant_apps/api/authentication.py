"""`Authorization: Bearer <key>` against the keys of the workspace whose host was asked.

A key lives in its workspace's schema, so on another workspace's host it is
simply unknown: the answer there is the same 401 as for a made-up key, and
says nothing about the other workspace.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .keys import key_for_secret, note_use


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.AuthenticationFailed(_("Send the key as “Authorization: Bearer <key>”."))
        key = key_for_secret(secret.strip())
        if key is None:
            raise exceptions.AuthenticationFailed(
                _("This key is not valid on this workspace (unknown, revoked or expired).")
            )
        note_use(key)
        return (None, key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

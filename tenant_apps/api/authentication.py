"""`Authorization: Bearer <key>` against the keys of the workspace whose host was asked.

A key lives in its workspace's schema. On another workspace's host it is
unknown there, and the public `ApiKeyHome` row (its hash and workspace)
tells it apart from a made-up, revoked or expired one: a key of another
workspace gets 404 for everything there, as it does for that workspace's
objects on its own host; the others get 401. Neither answer says anything
about the other workspace.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .keys import belongs_elsewhere, key_for_secret, note_use


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
        if key is None and belongs_elsewhere(secret.strip()):
            # A key of another workspace: everything of this one is 404 to it, as on its own host.
            raise exceptions.NotFound()
        if key is None:
            raise exceptions.AuthenticationFailed(
                _("This key is not valid on this workspace (unknown, revoked or expired).")
            )
        note_use(key)
        return (None, key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

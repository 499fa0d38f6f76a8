"""Sign-in hand-off from the public site to a workspace host."""

import uuid

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from saas.links import absolute_url

from .models import SignInHandoff

SALT = "rassylka.handoff"
MAX_AGE_SECONDS = 60


class HandoffError(Exception):
    """The token is forged, expired, reused or for another workspace."""


def issue_handoff_url(user, workspace, next_path="/", language=None):
    """Create a single-use token and return the workspace URL that redeems it.

    `language` (the public site's current one) is carried along, as cookies do not cross hosts.
    """
    ticket = SignInHandoff.objects.create(id=uuid.uuid4(), user=user, workspace=workspace)
    token = signing.dumps({"id": str(ticket.id), "ws": workspace.pk}, salt=SALT)
    if not url_has_allowed_host_and_scheme(next_path, allowed_hosts=None) or not next_path.startswith("/"):
        next_path = "/"
    query = {"token": token, "next": next_path}
    if language in dict(settings.LANGUAGES):
        query["lang"] = language
    return absolute_url("/handoff/?" + urlencode(query), host=workspace.host)


def redeem_handoff(token, workspace):
    """The user the token signs in, marking it used; raises HandoffError."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise HandoffError("expired") from exc
    except signing.BadSignature as exc:
        raise HandoffError("forged") from exc
    if data.get("ws") != workspace.pk:
        raise HandoffError("forged")
    claimed = SignInHandoff.objects.filter(id=data["id"], workspace=workspace, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if claimed != 1:
        raise HandoffError("reused")
    ticket = SignInHandoff.objects.select_related("user").get(id=data["id"])
    if not ticket.user.is_active:
        raise HandoffError("forged")
    return ticket.user


def signed_in_backend():
    return settings.AUTHENTICATION_BACKENDS[0]

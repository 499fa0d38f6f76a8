"""Inviting people into a workspace by email, with a role.

The link carries a signed token (valid INVITATION_MAX_AGE_DAYS) naming an
Invitation row; accepting marks the row used, so each link works once.
"""

import uuid

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from saas.mail import queue_email

from .access import Role, member_role, set_member_role
from .models import Invitation
from .services import site_url

SALT = "rassylka.invitation"


class InvitationError(Exception):
    """The invitation link is forged, expired, used or revoked, or not for this person."""

    def __init__(self, reason, invitation=None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def invitation_token(invitation):
    return signing.dumps({"id": str(invitation.id)}, salt=SALT)


def invitation_url(invitation):
    path = reverse("invitation", args=[invitation_token(invitation)], urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return site_url(settings.BASE_DOMAIN, path)


def invite(*, workspace, email, role, invited_by):
    """Create an invitation and queue its email; an earlier pending one for the address is replaced."""
    email = email.strip().lower()
    with transaction.atomic():
        Invitation.objects.filter(workspace=workspace, email__iexact=email, accepted_at__isnull=True).delete()
        invitation = Invitation.objects.create(
            id=uuid.uuid4(), workspace=workspace, email=email, role=Role(role).value, invited_by=invited_by
        )
        queue_email(invitation_email(invitation))
    return invitation


def invitation_email(invitation):
    context = {
        "invitation": invitation,
        "workspace": invitation.workspace,
        "inviter": invitation.invited_by,
        "role": Role(invitation.role).label,
        "url": invitation_url(invitation),
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    subject = render_to_string("tenant/members/email/invitation_subject.txt", context).strip()
    body = render_to_string("tenant/members/email/invitation_message.txt", context)
    html = render_to_string("tenant/members/email/invitation_message.html", context)
    message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    message.attach_alternative(html, "text/html")
    return message


def read_invitation(token):
    """The pending invitation a token names; raises InvitationError(reason)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.INVITATION_MAX_AGE_DAYS * 24 * 3600)
    except signing.SignatureExpired as exc:
        raise InvitationError("expired") from exc
    except signing.BadSignature as exc:
        raise InvitationError("forged") from exc
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(id=data.get("id"), workspace__is_active=True)
        .first()
    )
    if invitation is None:
        raise InvitationError("revoked")
    if not invitation.is_pending:
        raise InvitationError("used", invitation)
    return invitation


def user_may_accept(user, invitation):
    """Only the invited address may accept: it must be one of the user's verified emails."""
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=invitation.email, verified=True).exists()


def accept_invitation(token, user):
    """Make `user` a member with the invited role; returns the workspace. Raises InvitationError."""
    with transaction.atomic():
        invitation = read_invitation(token)
        if not user_may_accept(user, invitation):
            raise InvitationError("other_email", invitation)
        claimed = Invitation.objects.filter(id=invitation.id, accepted_at__isnull=True).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if claimed != 1:
            raise InvitationError("used", invitation)
        # Accepting never lowers a role the person already holds (an owner stays owner).
        current = member_role(user, invitation.workspace)
        order = [Role.VIEWER, Role.EDITOR, Role.OWNER]
        if current is None or order.index(Role(invitation.role)) > order.index(current):
            set_member_role(user, invitation.workspace, invitation.role)
    return invitation.workspace


def pending_invitations(workspace):
    return Invitation.objects.filter(workspace=workspace, accepted_at__isnull=True).select_related("invited_by")


def revoke_invitation(workspace, invitation_id):
    """Delete a pending invitation of this workspace; its link then says so."""
    return Invitation.objects.filter(workspace=workspace, id=invitation_id, accepted_at__isnull=True).delete()[0] > 0

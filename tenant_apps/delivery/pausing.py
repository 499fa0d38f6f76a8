"""Pausing a mailing when the provider refuses our sender or account, and telling the workspace's owners.

A 5xx before RCPT (at connect, EHLO, AUTH or MAIL FROM) says nothing about
the recipient: every other message of the mailing would be refused the same
way. Failing them all would burn the audience in seconds, so the engine
pauses the mailing instead; its deliveries stay pending and go out when an
owner has fixed the account (or the sender address) and resumes it.
Runs inside the workspace schema.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from guardian.shortcuts import get_users_with_perms

from saas.mail import queue_email
from shared_apps.console import index as console_index
from shared_apps.landing import counters
from tenant_apps.campaigns.models import Mailing
from tenants.services import site_url

from .smtp import Outcome

log = logging.getLogger(__name__)


def pause_for_sender_refusal(run, workspace, outcome: Outcome) -> bool:
    """Pause the run's mailing with the provider's reply as the reason; True if this call paused it.

    Only the first worker to see the refusal pauses (a conditional UPDATE) and
    emails the owners; the others find the mailing paused and stop.
    """
    reply = f"{outcome.code or ''} {outcome.response}".strip()
    detail = f"{outcome.stage}: {reply}"[:1000]
    paused = Mailing.objects.filter(pk=run.mailing_id, is_paused=False).update(
        is_paused=True, pause_reason=Mailing.PauseReason.SENDER_REFUSED, pause_detail=detail
    )
    if not paused:
        return False
    counters.mailings_changed()  # no longer "sending now" on the home page
    console_index.mailings_changed([run.mailing_id])
    log.warning("mailing %s in %s paused: the provider refused the sender (%s)", run.mailing_id, workspace, detail)
    mailing = Mailing.objects.get(pk=run.mailing_id)
    for owner in workspace_owners(workspace):
        queue_email(pause_email(owner, workspace, mailing))
    return True


def workspace_owners(workspace):
    users = get_users_with_perms(workspace, with_group_users=False, only_with_perms_in=["own_workspace"])
    return [user for user in users if user.is_active]


def pause_email(owner, workspace, mailing) -> EmailMessage:
    """The owner's notice, in the owner's language, with a link to the mailing's page."""
    path = reverse("campaigns:mailing_detail", args=[mailing.pk], urlconf=settings.ROOT_URLCONF)
    context = {"workspace": workspace, "mailing": mailing, "url": site_url(workspace.host, path)}
    with translation.override(getattr(owner, "language", None) or settings.LANGUAGE_CODE):
        subject = render_to_string("tenant/campaigns/email/paused_subject.txt", context).strip()
        body = render_to_string("tenant/campaigns/email/paused_message.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])

"""Public-side services: workspace webhook settings, the reputation pause, drop counters."""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from saas.mail import queue_email
from tenants.models import Workspace

from .models import DroppedFeedback, WorkspaceFeedback

log = logging.getLogger(__name__)


def feedback_of(workspace: Workspace) -> WorkspaceFeedback:
    """The workspace's feedback row (made on first use: it holds the webhook token)."""
    row, _created = WorkspaceFeedback.objects.get_or_create(workspace=workspace)
    return row


def workspace_for_hook_token(token: str) -> WorkspaceFeedback | None:
    return (
        WorkspaceFeedback.objects.select_related("workspace")
        .filter(hook_token=token, workspace__is_active=True)
        .first()
    )


def count_dropped(reason: str) -> None:
    """Count a dropped inbound message or event (forged token, unknown workspace, …); never acted on."""
    log.warning("feedback dropped: %s", reason)
    updated = DroppedFeedback.objects.filter(reason=reason).update(count=F("count") + 1, last_at=timezone.now())
    if not updated:
        row, created = DroppedFeedback.objects.get_or_create(
            reason=reason, defaults={"count": 1, "last_at": timezone.now()}
        )
        if not created:
            DroppedFeedback.objects.filter(pk=row.pk).update(count=F("count") + 1, last_at=timezone.now())


def dropped_counts() -> dict[str, int]:
    return dict(DroppedFeedback.objects.values_list("reason", "count"))


# --- the reputation guard --------------------------------------------------------


def sending_paused(workspace_id: int) -> bool:
    """Whether the reputation guard stopped this workspace's sending (the engine asks before each batch)."""
    return WorkspaceFeedback.objects.filter(workspace_id=workspace_id, paused_at__isnull=False).exists()


def pause_for_reputation(workspace: Workspace, figures: dict, now: datetime | None = None) -> bool:
    """Pause the workspace's sending and tell its owner; False when it was already paused.

    A run a manager released it from does not pause it again (its late
    bounces keep coming after the release); another run does.
    """
    row = feedback_of(workspace)
    if row.released_at and row.pause_figures.get("run") == figures.get("run"):
        return False
    paused = WorkspaceFeedback.objects.filter(workspace=workspace, paused_at__isnull=True).update(
        paused_at=now or timezone.now(), pause_figures=figures, released_at=None, released_by=None
    )
    if paused:
        log.warning("workspace %s paused for reputation: %s", workspace.slug, figures)
        email_owner_about_pause(workspace, figures)
    return bool(paused)


def release_pause(workspace: Workspace, user) -> bool:
    """A manager lets the workspace send again; False when it was not paused."""
    released = WorkspaceFeedback.objects.filter(workspace=workspace, paused_at__isnull=False).update(
        paused_at=None, released_at=timezone.now(), released_by=user
    )
    if released:
        log.warning("workspace %s released from the reputation pause by %s", workspace.slug, user.email)
        transaction.on_commit(lambda: resume_after_release(workspace))
    return bool(released)


def resume_after_release(workspace: Workspace) -> None:
    """Wake the runs the pause stopped, instead of waiting for the watchdog."""
    from tenant_apps.delivery.tasks import send_run
    from tenant_apps.feedback.services import unfinished_run_ids

    for run_id in unfinished_run_ids(workspace.schema_name):
        send_run(workspace.schema_name, run_id)


def paused_workspaces(workspaces):
    """The paused rows among `workspaces` (a queryset), newest pause first."""
    return (
        WorkspaceFeedback.objects.select_related("workspace")
        .filter(workspace__in=workspaces, paused_at__isnull=False)
        .order_by("-paused_at")
    )


def email_owner_about_pause(workspace: Workspace, figures: dict) -> None:
    owner = workspace.owner
    if owner is None or not owner.email:
        return
    language = getattr(owner, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = _("Sending paused in %(workspace)s: too many bounces or complaints") % {"workspace": workspace.name}
        body = render_to_string(
            "tenant/feedback/email/reputation_paused.txt", {"workspace": workspace, "figures": figures}
        )
    queue_email(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email]))

"""Public-schema side of deliverability feedback.

Webhooks and the bounce receiver enter on the public host: they find the
workspace by the token in the URL (or in the VERP address) here, and the
reputation guard's pause lives here too, so managers see every paused
workspace with one query and the engine checks it without leaving its schema.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_hook_token():
    return secrets.token_urlsafe(18)


class WorkspaceFeedback(models.Model):
    workspace = models.OneToOneField(
        "tenants.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="feedback"
    )
    hook_token = models.CharField(_("webhook token"), max_length=40, unique=True, default=new_hook_token)
    # Provider credentials (owners paste them from the provider's console).
    sendgrid_public_key = models.TextField(_("SendGrid verification key"), blank=True)
    mailgun_signing_key = models.CharField(_("Mailgun signing key"), max_length=200, blank=True)
    postmark_username = models.CharField(_("Postmark webhook user"), max_length=100, blank=True)
    postmark_password = models.CharField(_("Postmark webhook password"), max_length=200, blank=True)
    ses_topic_arn = models.CharField(_("SES topic ARN"), max_length=300, blank=True)
    # The reputation guard.
    paused_at = models.DateTimeField(_("paused for reputation"), null=True, blank=True, db_index=True)
    pause_figures = models.JSONField(_("figures at the pause"), default=dict, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("workspace feedback settings")
        verbose_name_plural = _("workspace feedback settings")

    def __str__(self):
        return str(self.workspace)


class DroppedFeedback(models.Model):
    """Counters of inbound feedback that was dropped (forged token, unknown workspace, unparsable)."""

    reason = models.CharField(max_length=40, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dropped feedback")
        verbose_name_plural = _("dropped feedback")

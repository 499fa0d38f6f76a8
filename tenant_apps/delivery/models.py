"""The sending engine's records, in the workspace schema.

One Run per scheduled occurrence of a mailing; one Delivery per (run, client),
unique, with a state machine; one Attempt per try (the brief's log: time,
status, the server's response).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Run(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("run status", "pending")
        SENDING = "sending", pgettext_lazy("run status", "sending")
        DONE = "done", pgettext_lazy("run status", "done")
        CANCELLED = "cancelled", pgettext_lazy("run status", "cancelled")
        # Stopped at the workspace's monthly quota (tenant_apps/senders/quotas.py); resumes when raised.
        QUOTA = "quota", pgettext_lazy("run status", "stopped: monthly quota reached")

    mailing = models.ForeignKey(
        "campaigns.Mailing", verbose_name=_("mailing"), on_delete=models.CASCADE, related_name="runs"
    )
    scheduled_for = models.DateTimeField(_("scheduled for"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Sending must stop at the mailing's end, retries included.
    deadline = models.DateTimeField(_("deadline"))

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-scheduled_for"]
        constraints = [models.UniqueConstraint(fields=["mailing", "scheduled_for"], name="run_once_per_occurrence")]

    def __str__(self):
        return f"{self.mailing} @ {self.scheduled_for:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """One message to one client within a run.

    pending → sending (claimed by a worker) → sent | failed;
    sending → pending again on a temporary failure (with next_attempt_at);
    pending → skipped when the client unsubscribed or the run was cancelled;
    sent → bounced | complained when a bounce or a complaint comes back.
    A claim older than the claim timeout is taken back (a worker died).
    """

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery status", "pending")
        SENDING = "sending", pgettext_lazy("delivery status", "sending")
        SENT = "sent", pgettext_lazy("delivery status", "sent")
        FAILED = "failed", pgettext_lazy("delivery status", "failed")
        SKIPPED = "skipped", pgettext_lazy("delivery status", "skipped")
        # After sent, from deliverability feedback (tenant_apps.feedback).
        BOUNCED = "bounced", pgettext_lazy("delivery status", "bounced")
        COMPLAINED = "complained", pgettext_lazy("delivery status", "complained")

    run = models.ForeignKey(Run, verbose_name=_("run"), on_delete=models.CASCADE, related_name="deliveries")
    client = models.ForeignKey(
        "audience.Client", verbose_name=_("client"), on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    email = models.EmailField(_("email"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # When the delivery reached sent or failed (reports count by it).
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    last_response = models.TextField(_("last response"), blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["run", "client"], name="delivery_once_per_client")]
        indexes = [
            models.Index(fields=["run", "status", "next_attempt_at"], name="delivery_claim_idx"),
            models.Index(fields=["status", "finished_at"], name="delivery_finished_idx"),
        ]

    def __str__(self):
        return f"{self.email} ({self.status})"


class Attempt(models.Model):
    """One try to hand a delivery to the mail server, success or not."""

    class Status(models.TextChoices):
        SUCCESS = "success", pgettext_lazy("attempt status", "success")
        FAILURE = "failure", pgettext_lazy("attempt status", "failure")

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempts"
    )
    at = models.DateTimeField(_("time"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    smtp_code = models.PositiveSmallIntegerField(_("SMTP code"), null=True, blank=True)
    response = models.TextField(_("server response"), blank=True)
    permanent = models.BooleanField(_("permanent failure"), default=False)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["-at"]
        indexes = [models.Index(fields=["status", "at"], name="attempt_status_at_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status} {self.smtp_code or ''}"


class TransactionalStream(models.Model):
    """The hidden system mailing and open-ended run that carry one kind of transactional message.

    A transactional message (a double opt-in confirmation, a welcome, an API
    send) has no mailing of its own; its Delivery belongs to its kind's
    stream run, so the engine sends it with the same retries, attempt log,
    breaker, suppression, From and DKIM as a campaign. The system mailing is
    never scheduled (no mailing_changed), stays "created", and is left out of
    every list of the workspace's mailings.
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", pgettext_lazy("transactional kind", "subscription confirmation")
        WELCOME = "welcome", pgettext_lazy("transactional kind", "welcome message")
        API = "api", pgettext_lazy("transactional kind", "sent through the API")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, unique=True)
    mailing = models.OneToOneField(
        "campaigns.Mailing", verbose_name=_("mailing"), on_delete=models.CASCADE, related_name="transactional_stream"
    )
    run = models.OneToOneField(Run, verbose_name=_("run"), on_delete=models.CASCADE, related_name="stream")

    class Meta:
        verbose_name = _("transactional stream")
        verbose_name_plural = _("transactional streams")

    def __str__(self):
        return self.kind


class TransactionalMessage(models.Model):
    """One transactional delivery's own content (rendered when it was asked for) and idempotency key.

    Its Delivery has no client (a stream run holds many messages to one
    client, and a delivery is unique per run and client): the client is here.
    Two requests with the same kind and non-empty key make one delivery.
    """

    delivery = models.OneToOneField(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, primary_key=True, related_name="transactional"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TransactionalStream.Kind.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, blank=True)
    client = models.ForeignKey(
        "audience.Client", verbose_name=_("client"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.TextField(_("subject"))
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    # Marketing-like kinds (welcome, API sends to a client) stop for an unsubscribed client and carry
    # the one-click unsubscribe headers; a confirmation goes to whoever just asked for it.
    honours_unsubscribe = models.BooleanField(_("honours unsubscription"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("transactional message")
        verbose_name_plural = _("transactional messages")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="transactional_once_per_key",
            )
        ]

    def __str__(self):
        return f"{self.kind}: {self.subject}"

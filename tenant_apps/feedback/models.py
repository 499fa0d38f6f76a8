"""Deliverability feedback in the workspace schema: events, suppressions, actions.

An event is one bounce or complaint about one delivery (from the bounce
receiver or a provider's webhook). A suppression keeps an address out of
every later run; it is keyed by the lower-cased email, not by the client, so
deleting and re-importing a client never lifts it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FeedbackEvent(models.Model):
    class Kind(models.TextChoices):
        HARD = "hard", _("hard bounce")
        SOFT = "soft", _("soft bounce")
        COMPLAINT = "complaint", _("complaint")

    class Source(models.TextChoices):
        SMTP = "smtp", _("bounce message")
        SES = "ses", "Amazon SES"
        SENDGRID = "sendgrid", "SendGrid"
        MAILGUN = "mailgun", "Mailgun"
        POSTMARK = "postmark", "Postmark"

    delivery = models.ForeignKey(
        "delivery.Delivery",
        verbose_name=_("delivery"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback_events",
    )
    email = models.EmailField(_("email"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status_code = models.CharField(_("status code"), max_length=16, blank=True)
    diagnostic = models.TextField(_("diagnostic"), blank=True)
    reporting_mta = models.CharField(_("reporting MTA"), max_length=255, blank=True)
    occurred_at = models.DateTimeField(_("time"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    # The whole message or payload; purged after FEEDBACK_RAW_KEEP_DAYS (the fields stay).
    raw = models.TextField(_("raw message"), blank=True)
    # The provider's own id of the event: the same event delivered twice is recorded once.
    provider_event_id = models.CharField(_("provider event id"), max_length=200, null=True, blank=True)

    class Meta:
        verbose_name = _("feedback event")
        verbose_name_plural = _("feedback events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "provider_event_id"], name="feedback_event_once"),
        ]
        indexes = [
            models.Index(fields=["email", "kind", "occurred_at"], name="feedback_email_kind_idx"),
            models.Index(fields=["received_at"], name="feedback_raw_purge_idx", condition=~models.Q(raw="")),
        ]

    def __str__(self):
        return f"{self.kind} {self.email} {self.status_code}"


class Suppression(models.Model):
    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard", _("hard bounce")
        SOFT_BOUNCES = "soft", _("repeated soft bounces")
        COMPLAINT = "complaint", _("complaint")

    # Lower-cased; the engine compares lower(client email) with it.
    email = models.CharField(_("email"), max_length=254, unique=True)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    event = models.ForeignKey(
        FeedbackEvent, verbose_name=_("source event"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created = models.DateTimeField(_("suppressed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.email


class SuppressionLift(models.Model):
    """The log of suppressions an owner lifted."""

    email = models.CharField(_("email"), max_length=254)
    reason = models.CharField(_("reason"), max_length=10, choices=Suppression.Reason.choices)
    suppressed_at = models.DateTimeField(_("suppressed at"))
    lifted_by = models.EmailField(_("lifted by"))
    lifted_at = models.DateTimeField(_("lifted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("lifted suppression")
        verbose_name_plural = _("lifted suppressions")
        ordering = ["-lifted_at", "-id"]


class FeedbackSettings(models.Model):
    """What bounces and complaints do in this workspace (one row; owners edit it)."""

    hard_bounce_suppresses = models.BooleanField(_("a hard bounce suppresses the address at once"), default=True)
    soft_bounce_limit = models.PositiveSmallIntegerField(
        _("soft bounces before suppression"), default=3, help_text=_("0 = soft bounces never suppress")
    )
    soft_bounce_days = models.PositiveSmallIntegerField(_("within days"), default=30)
    complaint_unsubscribes = models.BooleanField(_("a complaint unsubscribes the client"), default=True)
    complaint_suppresses = models.BooleanField(_("a complaint suppresses the address"), default=True)

    class Meta:
        verbose_name = _("feedback settings")
        verbose_name_plural = _("feedback settings")

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first() or cls()

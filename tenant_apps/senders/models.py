"""Sending identities of a workspace: its domains (with DKIM keys) and its own SMTP providers.

Secrets (provider passwords, DKIM private keys) are stored encrypted
(crypto.EncryptedTextField); the plain values exist only in memory.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .crypto import EncryptedTextField


class SmtpProvider(models.Model):
    class Security(models.TextChoices):
        NONE = "none", _("none")
        STARTTLS = "starttls", _("STARTTLS")
        TLS = "tls", _("TLS (SMTPS)")

    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=587)
    security = models.CharField(_("security"), max_length=10, choices=Security.choices, default=Security.STARTTLS)
    username = models.CharField(_("user"), max_length=255, blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    rate_per_second = models.FloatField(_("messages per second"), default=0, help_text=_("0 = no limit"))
    rate_per_hour = models.PositiveIntegerField(_("messages per hour"), default=0, help_text=_("0 = no limit"))
    is_workspace_default = models.BooleanField(_("use for the whole workspace"), default=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # The last "test connection": when, whether it worked, and the server's answer.
    tested_at = models.DateTimeField(_("tested"), null=True, blank=True)
    test_ok = models.BooleanField(null=True)
    test_answer = models.TextField(blank=True)
    test_pending = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("SMTP provider")
        verbose_name_plural = _("SMTP providers")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.host}:{self.port})"


class SendingDomain(models.Model):
    name = models.CharField(_("domain"), max_length=253, unique=True)
    provider = models.ForeignKey(
        SmtpProvider,
        verbose_name=_("SMTP provider"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="domains",
        help_text=_("Empty: the workspace's provider, or the platform relay."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    spf_ok = models.BooleanField(default=False)
    dmarc_ok = models.BooleanField(default=False)
    check_error = models.TextField(blank=True)
    check_pending = models.BooleanField(default=False)  # a DNS check is queued

    class Meta:
        verbose_name = _("sending domain")
        verbose_name_plural = _("sending domains")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_verified(self):
        return self.verified_at is not None


class DkimKey(models.Model):
    """One RSA key of a domain, published under its own selector.

    new: generated, not yet found in DNS; active: signs outgoing mail (one per
    domain); retired: replaced by a newer key that was verified first.
    """

    class State(models.TextChoices):
        NEW = "new", pgettext_lazy("dkim key", "new")
        ACTIVE = "active", pgettext_lazy("dkim key", "active")
        RETIRED = "retired", pgettext_lazy("dkim key", "retired")

    domain = models.ForeignKey(SendingDomain, on_delete=models.CASCADE, related_name="keys")
    selector = models.CharField(_("selector"), max_length=63)
    private_key = EncryptedTextField()
    public_key = models.TextField()  # base64 SubjectPublicKeyInfo, the p= tag
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.NEW)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("found in DNS"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("DKIM key")
        verbose_name_plural = _("DKIM keys")
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "selector"], name="dkim_selector_unique"),
            models.UniqueConstraint(
                fields=["domain"], condition=models.Q(state="active"), name="dkim_one_active_per_domain"
            ),
        ]

    def __str__(self):
        return f"{self.selector}._domainkey.{self.domain.name}"

    @property
    def record_name(self):
        return f"{self.selector}._domainkey.{self.domain.name}"

    @property
    def record_value(self):
        return f"v=DKIM1; k=rsa; p={self.public_key}"

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A key of this workspace's REST API (lives in the workspace schema, so it opens only this workspace).

    The secret is shown once when the key is made; only its SHA-256 is kept,
    with a short prefix to tell keys apart on the settings page.
    """

    class Access(models.TextChoices):
        READ = "read", _("read only")
        READ_WRITE = "read_write", _("read and write")

    name = models.CharField(_("name"), max_length=100)
    access = models.CharField(_("access"), max_length=10, choices=Access.choices, default=Access.READ)
    prefix = models.CharField(_("prefix"), max_length=16)
    secret_hash = models.CharField(_("secret hash"), max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.EmailField(_("created by"), blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self):
        return self.access == self.Access.READ_WRITE

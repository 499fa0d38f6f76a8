"""Counts for the home page, kept in the public schema.

Reading them costs one query however many workspaces exist; workspace
schemas are only scanned by the periodic refresh and, for one workspace at
a time, after one of its mailings changes.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkspaceStats(models.Model):
    """One workspace's mailing counts, recounted after each of its mailings changes."""

    workspace = models.OneToOneField(
        "tenants.Workspace", verbose_name=_("workspace"), on_delete=models.CASCADE, related_name="stats"
    )
    mailings_total = models.PositiveIntegerField(_("mailings"), default=0)
    mailings_active = models.PositiveIntegerField(_("active mailings"), default=0)
    counted_at = models.DateTimeField(_("counted at"))

    class Meta:
        verbose_name = _("workspace statistics")
        verbose_name_plural = _("workspace statistics")


class SiteStats(models.Model):
    """Site-wide figures that cannot be summed per workspace (one row, id 1)."""

    unique_clients = models.PositiveIntegerField(_("unique clients"), default=0)
    workspaces = models.PositiveIntegerField(_("workspaces"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("site statistics")
        verbose_name_plural = _("site statistics")

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)


class RecipientEmail(models.Model):
    """How many workspaces have a client with this email (lower-cased).

    The site-wide "unique recipients" is the number of rows with refs > 0, kept
    in SiteStats.unique_clients by the same statements that move refs, so the
    home page reads one figure instead of scanning every workspace. A row at 0
    is left for the periodic repair to remove (adding the email again revives it).
    """

    email = models.TextField(_("email"), primary_key=True)
    refs = models.PositiveIntegerField(_("workspaces with it"), default=0)

    class Meta:
        verbose_name = _("recipient email")
        verbose_name_plural = _("recipient emails")

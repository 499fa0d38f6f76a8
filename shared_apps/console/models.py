"""The console's index of every workspace's mailings and clients, in the public schema.

The console lists read these tables only, never the workspace schemas, so a
page costs the same with ten workspaces or ten thousand, and nothing on a
request needs every schema in one database. `index.py` keeps them in step
(explicit calls from the services that change mailings and clients) and
repairs them (a periodic task, a workspace at a time).
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Lower

from tenant_apps.audience.models import ContainsIgnoringCase
from tenant_apps.campaigns.models import Mailing


class MailingIndex(models.Model):
    """One workspace mailing, as the console lists it."""

    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="+")
    mailing_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Mailing.Status.choices)
    is_paused = models.BooleanField(default=False)
    disabled_by_manager = models.BooleanField(default=False)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    periodicity = models.CharField(max_length=10, choices=Mailing.Periodicity.choices)
    message_subject = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "mailing_id"], name="mailing_index_once")]
        indexes = [
            # The list's order, newest start first; the same with a status filter.
            models.Index(models.F("start_at").desc(), "workspace", "mailing_id", name="mailing_index_start"),
            models.Index("status", models.F("start_at").desc(), name="mailing_index_status_start"),
            GinIndex(fields=["name"], name="mailing_index_name_trgm", opclasses=["gin_trgm_ops"]),  # "contains"
        ]

    @property
    def status_label(self):
        return Mailing.Status(self.status).label

    @property
    def periodicity_label(self):
        return Mailing.Periodicity(self.periodicity).label


class ClientIndex(models.Model):
    """One workspace client, as the console lists it."""

    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="+")
    client_id = models.BigIntegerField()
    email = models.CharField(max_length=254)
    full_name = models.CharField(max_length=200, blank=True)
    is_subscribed = models.BooleanField(default=True)
    created = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "client_id"], name="client_index_once")]
        indexes = [
            models.Index(Lower("email"), "workspace", "client_id", name="client_index_email"),
            GinIndex(fields=["email"], name="client_index_email_trgm", opclasses=["gin_trgm_ops"]),  # "contains"
        ]


MailingIndex._meta.get_field("name").register_lookup(ContainsIgnoringCase)
ClientIndex._meta.get_field("email").register_lookup(ContainsIgnoringCase)

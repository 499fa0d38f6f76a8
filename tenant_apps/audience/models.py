from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Lower
from django.db.models.lookups import IContains
from django.utils.translation import gettext_lazy as _


class Client(models.Model):
    """A recipient in a workspace. The email is unique regardless of case."""

    email = models.EmailField(_("email"))
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    is_subscribed = models.BooleanField(_("subscribed"), default=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    # Kept by the tracking drain (tenant_apps/engagement), people only, so segments can use them.
    last_opened_at = models.DateTimeField(_("last opened"), null=True, blank=True)
    last_clicked_at = models.DateTimeField(_("last clicked"), null=True, blank=True)
    # Custom field values {key: value}, validated against CustomField by audience.fields on every write.
    # db_default: raw INSERTs (the CSV import, benches) that do not name the column get {} too.
    fields = models.JSONField(
        _("custom fields"), default=dict, db_default=models.Value({}, output_field=models.JSONField()), blank=True
    )

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="client_email_ci_unique")]
        indexes = [
            # Trigram indexes make the list's substring search (ILIKE '%q%') fast
            # on 100k clients; pg_trgm is created in `public` by migration 0002.
            GinIndex(fields=["email"], name="client_email_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["full_name"], name="client_full_name_trgm", opclasses=["gin_trgm_ops"]),
            # Containment and key lookups on custom field values (`fields @> '{"city": "Казань"}'`).
            GinIndex(fields=["fields"], name="client_fields_gin"),
        ]

    def __str__(self):
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email


class ContainsIgnoringCase(IContains):
    """`field__ilike="q"` is `field ILIKE '%q%'`, which the trigram indexes serve.

    Django's own `icontains` is `UPPER(field) LIKE UPPER(...)` on PostgreSQL,
    which no index on the plain column can serve.
    """

    lookup_name = "ilike"  # PostgreSQL adds UPPER() only for Django's own i* lookup names

    def get_rhs_op(self, connection, rhs):
        return f"ILIKE {rhs}"


Client._meta.get_field("email").register_lookup(ContainsIgnoringCase)
Client._meta.get_field("full_name").register_lookup(ContainsIgnoringCase)


class ImportJob(models.Model):
    """One CSV upload and its processing by a background task.

    The file is kept in the database, not on a disk, so a huey worker on
    another machine can read it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    file_name = models.CharField(_("file"), max_length=255)
    data = models.BinaryField(_("contents"))
    uploaded_by = models.EmailField(_("uploaded by"), blank=True)
    # The list every row of the file joins (subscribed), or none.
    target_list = models.ForeignKey(
        "MailingList", verbose_name=_("list"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    created_count = models.PositiveIntegerField(_("added"), default=0)
    existing_count = models.PositiveIntegerField(_("already there"), default=0)
    error_count = models.PositiveIntegerField(_("rejected"), default=0)
    # [[line number, reason, value], ...], at most MAX_REPORTED_ERRORS of them
    errors = models.JSONField(_("rejected rows"), default=list, blank=True)
    # [untranslated message, params] when the whole file was refused
    failure = models.JSONField(_("why the file was refused"), default=list, blank=True)
    created = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Set when a worker takes the job and after every batch: a running job
    # whose heartbeat is old lost its worker and is resumed (recovery.py).
    heartbeat = models.DateTimeField(_("last progress"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("client import")
        verbose_name_plural = _("client imports")
        ordering = ["-created"]
        indexes = [
            # The periodic recovery looks only at unfinished jobs, in every schema.
            models.Index(
                fields=["status"], name="importjob_unfinished", condition=models.Q(status__in=["pending", "running"])
            ),
        ]

    def __str__(self):
        return self.file_name

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self):
        if self.is_finished:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class MailingList(models.Model):
    """A list clients subscribe to; a client may be on any number of them."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    # Public lists are the ones a subscriber may see and choose (forms, preference centre).
    is_public = models.BooleanField(_("public"), default=False)
    double_opt_in = models.BooleanField(_("double opt-in"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A client's state on one list, with when and how it last changed.

    Only `subscribed` members receive mailings sent to the list; the client's
    own "unsubscribed from everything" (`Client.is_subscribed`) still wins.
    """

    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed", _("subscribed")
        UNCONFIRMED = "unconfirmed", _("unconfirmed")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")

    class Source(models.TextChoices):
        MIGRATION = "migration", _("moved from before lists")
        MANUAL = "manual", _("by a member of the workspace")
        IMPORT = "import", _("CSV import")
        API = "api", _("the API")

    mailing_list = models.ForeignKey(
        MailingList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="memberships"
    )
    client = models.ForeignKey(Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="memberships")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBSCRIBED)
    changed_at = models.DateTimeField(_("changed"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        verbose_name = _("list membership")
        verbose_name_plural = _("list memberships")
        constraints = [models.UniqueConstraint(fields=["mailing_list", "client"], name="membership_list_client_unique")]
        indexes = [
            # A run's audience and the list's counts read (list, status) → clients.
            models.Index(fields=["mailing_list", "status", "client"], name="membership_list_status"),
            models.Index(fields=["client"], name="membership_client"),
        ]

    def __str__(self):
        return f"{self.client} — {self.mailing_list}"


class CustomField(models.Model):
    """A field the owners define for the workspace's clients; values live in `Client.fields`."""

    class Type(models.TextChoices):
        TEXT = "text", _("text")
        NUMBER = "number", _("number")
        DATE = "date", _("date")
        BOOLEAN = "boolean", _("yes/no")
        CHOICE = "choice", _("one of a set of choices")

    key = models.CharField(
        _("key"),
        max_length=40,
        unique=True,
        help_text=_(
            "Latin letters, digits and _, starting with a letter; used as {{ fields.key }} and in CSV headers."
        ),
    )
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["label"]

    def __str__(self):
        return self.label

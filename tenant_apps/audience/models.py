import secrets

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Lower
from django.db.models.lookups import IContains
from django.utils.translation import gettext_lazy as _


class ClientQuerySet(models.QuerySet):
    def by_email(self, email: str):
        """The client with this address, any case, or None.

        Raw SQL on purpose: the unique index on lower(email) serves it, and it is on the API's
        transactional-send path, where compiling an ORM query cost more than running it.
        """
        found = self.raw("SELECT * FROM audience_client WHERE lower(email) = lower(%s) LIMIT 1", [email.strip()])
        return next(iter(found), None)


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

    objects = ClientQuerySet.as_manager()

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
    another machine can read it: uploads as a PostgreSQL large object
    (`file_oid`, streamed, see importfile.py); `data` holds a file given
    whole (jobs from before, tests), read when there is no large object.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    file_name = models.CharField(_("file"), max_length=255)
    data = models.BinaryField(_("contents"), blank=True, default=b"")
    file_oid = models.PositiveBigIntegerField(_("stored file"), null=True, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
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
        FORM = "form", _("subscription form")
        PREFERENCES = "preferences", _("the subscriber's preference centre")
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


def new_form_slug() -> str:
    return secrets.token_urlsafe(9)  # 12 characters: not guessable, short enough for a URL


class SubscriptionForm(models.Model):
    """A public sign-up form of a public list: the hosted page /f/<slug>/ and the snippet that posts to it."""

    mailing_list = models.ForeignKey(
        MailingList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="forms"
    )
    slug = models.CharField(_("address"), max_length=20, unique=True, default=new_form_slug, editable=False)
    title = models.CharField(_("heading"), max_length=200)
    text = models.TextField(_("text above the form"), blank=True)
    # Shown next to the button and stored word for word in every ConsentRecord.
    consent_text = models.TextField(_("consent text"))
    # Which of "full_name" and the custom field keys the form asks for (the email always).
    shown_fields = models.JSONField(_("fields shown"), default=list, blank=True)
    thank_you_url = models.URLField(_("thank-you page"), max_length=500, blank=True)
    # Hosts a posting page may be on for the visitor to be sent back to thank_you_url; one per line.
    allowed_hosts = models.TextField(_("allowed sites"), blank=True)
    welcome_message = models.ForeignKey(
        "campaigns.Message",
        verbose_name=_("welcome message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # Sign-ups the queued task could not take because the workspace had reached its client limit
    # (there was room at the post, none when the task ran): the owner sees them on the form's page.
    dropped_signups = models.PositiveIntegerField(_("sign-ups dropped at the client limit"), default=0, editable=False)
    last_dropped_at = models.DateTimeField(_("last sign-up dropped"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("subscription form")
        verbose_name_plural = _("subscription forms")
        ordering = ["created"]

    def __str__(self):
        return self.title

    @property
    def allowed_host_list(self) -> list[str]:
        return [line.strip().lower() for line in self.allowed_hosts.splitlines() if line.strip()]


class ConsentRecord(models.Model):
    """Evidence of one sign-up: when, from where (network only), which browser family, and the text agreed to.

    Made when the form is posted; `confirmed_at` is set when the signed link
    in the confirmation email is followed (at once for a list without double
    opt-in). Only a confirmed record makes the membership "subscribed".
    """

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="consent_records"
    )
    mailing_list = models.ForeignKey(
        MailingList, verbose_name=_("list"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    form = models.ForeignKey(
        SubscriptionForm, verbose_name=_("form"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("signed up"))
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    # IPv4 cut to its /24, IPv6 to its /48: enough to show where from, not who.
    network = models.CharField(_("network"), max_length=64, blank=True)
    user_agent_family = models.CharField(_("browser"), max_length=50, blank=True)
    consent_text = models.TextField(_("consent text shown"))
    # The language the visitor saw the form in (their confirmation email is in it).
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["client", "confirmed_at"], name="consent_client_confirmed")]

    def __str__(self):
        return f"{self.client} — {self.mailing_list}"


class Segment(models.Model):
    """A saved filter over the workspace's clients (fields, lists, dates, delivery history).

    `definition` is validated and compiled to one parameterised SQL condition
    by audience/segments.py, which documents its shape.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    definition = models.JSONField(_("conditions"), default=dict)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class DataRightsLog(models.Model):
    """One export or erasure of a client's data (GDPR articles 15 and 17), kept after the client is gone.

    Holds no email: `email_hash` (audience.data_rights.email_hash) lets an owner
    answer "did we erase this address?" by hashing it again, and nothing else.
    """

    class Action(models.TextChoices):
        EXPORT = "export", _("export")
        ERASE = "erase", _("erasure")

    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    client_id = models.BigIntegerField(_("client"))
    email_hash = models.CharField(_("email hash"), max_length=64)
    by = models.EmailField(_("by"))
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("data rights request")
        verbose_name_plural = _("data rights requests")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["client_id", "at"], name="datarights_client_at_idx")]

    def __str__(self):
        return f"{self.action} {self.client_id} {self.at:%Y-%m-%d %H:%M}"

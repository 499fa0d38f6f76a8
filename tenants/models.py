from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from .hostcache import forget_hosts, forget_workspace


class Workspace(TenantMixin):
    """A customer's workspace: one PostgreSQL schema, served at <slug>.<BASE_DOMAIN>."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("address"), max_length=40, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_workspaces",
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE)
    # Quotas and the fair share (tenant_apps/senders/quotas.py); empty = the platform default.
    messages_per_month = models.PositiveIntegerField(_("messages per month"), null=True, blank=True)
    clients_max = models.PositiveIntegerField(_("clients at most"), null=True, blank=True)
    plan_weight = models.PositiveSmallIntegerField(_("sending weight"), default=1)

    auto_create_schema = True
    auto_drop_schema = True

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """A pooled schema or a pg_catalog clone, in constant time (tenants/provisioning.py)."""
        from django_tenants.utils import schema_exists

        from .provisioning import provide_schema

        if check_if_exists and schema_exists(self.schema_name):
            return False
        provide_schema(self.schema_name)
        return True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        forget_workspace(self)  # the cached host lookup (tenants/hostcache.py)

    def delete(self, *args, **kwargs):
        forget_workspace(self)
        return super().delete(*args, **kwargs)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        ordering = ["name"]
        permissions = [
            ("own_workspace", _("Own the workspace: members and settings")),
            ("edit_content", _("Create and change clients, messages and mailings")),
            ("oversee_workspace", _("Oversee the workspace as a manager (read only)")),
        ]

    def __str__(self):
        return self.name

    @property
    def is_public(self):
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def host(self):
        return f"{self.slug}.{settings.BASE_DOMAIN}"


class Domain(DomainMixin):
    def save(self, *args, **kwargs):
        if self.pk is not None:  # a changed host name: the old one's cached lookup too
            forget_hosts(list(Domain.objects.filter(pk=self.pk).values_list("domain", flat=True)))
        super().save(*args, **kwargs)
        forget_hosts([self.domain])

    def delete(self, *args, **kwargs):
        forget_hosts([self.domain])
        return super().delete(*args, **kwargs)

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class SignInHandoff(models.Model):
    """A single-use ticket that signs a user in on a workspace host.

    Cookies cannot span *.localhost, so the public site hands a signed,
    short-lived token to the workspace host; this row makes it single-use.
    """

    id = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    created = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)


class ScheduleEntry(models.Model):
    """The public schedule index: when each workspace's mailing next falls due.

    Kept in step with every mailing change, so the periodic tick reads only
    what is due with one query instead of looping over every schema.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="schedule")
    mailing_id = models.BigIntegerField()
    next_run_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("schedule entry")
        verbose_name_plural = _("schedule entries")
        constraints = [models.UniqueConstraint(fields=["workspace", "mailing_id"], name="schedule_one_per_mailing")]


class Invitation(models.Model):
    """An owner's invitation for an email address to join a workspace with a role.

    The link in the email carries a signed token naming this row; the row makes
    the link single-use (accepted_at) and lets the owner revoke it (delete).
    """

    ROLE_CHOICES = [("owner", _("owner")), ("editor", _("editor")), ("viewer", _("viewer"))]

    id = models.UUIDField(primary_key=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=ROLE_CHOICES)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("invited by")
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created"]

    def __str__(self):
        return f"{self.email} → {self.workspace}"

    @property
    def is_pending(self):
        return self.accepted_at is None


class MonthlyUsage(models.Model):
    """Messages a workspace sent (or has reserved for a batch in flight) in one calendar month (UTC)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="usage")
    month = models.DateField()  # the first day of the month
    messages = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("monthly usage")
        verbose_name_plural = _("monthly usage")
        constraints = [models.UniqueConstraint(fields=["workspace", "month"], name="usage_one_per_month")]


class PooledSchema(models.Model):
    """A ready, unassigned workspace schema cloned from the template (tenants/provisioning.py)."""

    schema_name = models.CharField(max_length=63, unique=True)
    # md5 of the template's django_migrations when it was cloned: only the current version is handed out.
    template_version = models.CharField(max_length=32, db_index=True)
    created = models.DateTimeField(auto_now_add=True)


class RollingMigration(models.Model):
    """One rolling application of new tenant migrations to the workspaces behind (tenants/rolling.py).

    The schemas' own `django_migrations` say which are done; this row is the
    job's progress for people (and resumption: an unfinished job of the same
    template version is continued, not restarted).
    """

    template_version = models.CharField(max_length=32, db_index=True)
    started = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)  # after every batch: a stale one means a killed job
    finished = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)  # schemas behind when it started (or resumed)
    migrated = models.PositiveIntegerField(default=0)
    failed_schema = models.CharField(max_length=63, blank=True)
    error = models.TextField(blank=True)

    def __str__(self):
        return f"rolling migration {self.pk}: {self.migrated}/{self.total}"


class ApiKeyHome(models.Model):
    """Which workspace a REST API key belongs to, by the key's hash (the key itself lives in that schema).

    Read only when a key is unknown on the host it was sent to: a key of
    another workspace then gets 404 there, like everything of that workspace,
    while a made-up, revoked or expired key gets 401.
    """

    secret_hash = models.CharField(max_length=64, unique=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)

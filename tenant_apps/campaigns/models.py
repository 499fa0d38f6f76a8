from django.db import models
from django.utils.translation import gettext_lazy as _

from .html import sanitize_html


class MessageQuerySet(models.QuerySet):
    def user_made(self):
        """The workspace's own messages: not those of the system mailings (delivery's transactional streams)."""
        return self.exclude(mailings__transactional_stream__isnull=False)


class Message(models.Model):
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created"]

    def __str__(self):
        return self.subject

    def save(self, *args, **kwargs):
        # Whatever path saves a message, its HTML never keeps anything executable.
        self.body_html = sanitize_html(self.body_html)
        super().save(*args, **kwargs)


class MailingQuerySet(models.QuerySet):
    def active(self):
        """Active mailings (the definition is on `Mailing.is_active`)."""
        return self.filter(status=Mailing.Status.RUNNING, is_paused=False, disabled_by_manager=False)

    def user_made(self):
        """The workspace's own mailings: not the hidden system mailings that carry transactional messages
        (tenant_apps/delivery/transactional.py); those are never active either, being never scheduled."""
        return self.filter(transactional_stream__isnull=True)


class Mailing(models.Model):
    """A message sent to a set of clients once or periodically within a window.

    Two words used across the code, with one meaning each:

    - **active** (`Mailing.is_active`, `Mailing.objects.active()`): sending now
      or between its runs — status *running*, and neither paused by the
      workspace nor disabled by a manager. The home page's "sending now", the
      dashboard's "active mailings" and the console count exactly these; raw
      SQL over many schemas reuses the queryset's condition through
      `tenants.crossschema.where_sql`.
    - **halted** (`Mailing.is_halted`): paused or disabled, whatever the
      status. The engine sends nothing for a halted mailing and the schedule
      index has no entry for it.
    """

    class Periodicity(models.TextChoices):
        ONCE = "once", _("once")
        DAILY = "daily", _("daily")
        WEEKLY = "weekly", _("weekly")
        MONTHLY = "monthly", _("monthly")

    class Status(models.TextChoices):
        CREATED = "created", _("created")
        RUNNING = "running", _("running")
        COMPLETED = "completed", _("completed")

    class Audience(models.TextChoices):
        ALL = "all", _("all subscribed clients")
        SELECTED = "selected", _("chosen clients")
        LISTS = "lists", _("subscribers of chosen lists")

    class PauseReason(models.TextChoices):
        NONE = "", _("paused by a person")
        SENDER_REFUSED = "sender_refused", _("the mail provider refused the sender or the account")

    name = models.CharField(_("name"), max_length=200)
    message = models.ForeignKey(Message, verbose_name=_("message"), on_delete=models.PROTECT, related_name="mailings")
    audience = models.CharField(_("recipients"), max_length=10, choices=Audience.choices, default=Audience.ALL)
    clients = models.ManyToManyField("audience.Client", verbose_name=_("chosen clients"), blank=True)
    lists = models.ManyToManyField("audience.MailingList", verbose_name=_("lists"), blank=True, related_name="+")
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    periodicity = models.CharField(
        _("periodicity"), max_length=10, choices=Periodicity.choices, default=Periodicity.ONCE
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CREATED)
    # The From address: empty = the platform's; otherwise on a verified sending domain (tenant_apps/senders).
    from_email = models.CharField(_("from"), max_length=254, blank=True)
    is_paused = models.BooleanField(_("paused"), default=False)
    disabled_by_manager = models.BooleanField(_("disabled by a manager"), default=False)
    # Set when the engine paused the mailing itself (cleared on resume); the detail is the provider's reply.
    pause_reason = models.CharField(
        _("pause reason"), max_length=20, choices=PauseReason.choices, default=PauseReason.NONE, blank=True
    )
    pause_detail = models.TextField(_("pause detail"), blank=True)
    # Per-mailing opt-outs of the workspace's tracking (tenant_apps/engagement), and UTM tags on links.
    track_opens = models.BooleanField(_("track opens"), default=True)
    track_clicks = models.BooleanField(_("track clicks"), default=True)
    add_utm = models.BooleanField(_("add UTM parameters to links"), default=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = MailingQuerySet.as_manager()

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-start_at"]

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        """See the class's docstring; the same condition as `Mailing.objects.active()`."""
        return self.status == self.Status.RUNNING and not self.is_halted

    @property
    def is_halted(self):
        """Paused by the workspace or disabled by a manager: nothing is sent."""
        return self.is_paused or self.disabled_by_manager

    @property
    def can_be_resumed(self):
        return self.is_paused and not self.disabled_by_manager

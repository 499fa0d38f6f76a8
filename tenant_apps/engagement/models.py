"""Open and click tracking records, in the workspace schema.

TrackingSettings: the workspace's switches (one row). Link: a run's link table
(built once per run). Hit: one open or click, written by the drain from the
Redis stream; hit_id (the stream entry's id) makes a second write of the same
hit a no-op. DeliveryEngagement: per delivery, the first human open/click and
the counts, kept by the drain so reports never count the hit log.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackingSettings(models.Model):
    """The workspace's tracking switches; both off until an owner turns them on."""

    track_opens = models.BooleanField(_("track opens"), default=False)
    track_clicks = models.BooleanField(_("track clicks"), default=False)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("tracking settings")
        verbose_name_plural = _("tracking settings")


class Link(models.Model):
    """One link of a run's message; its number is signed into the click tokens."""

    run = models.ForeignKey("delivery.Run", on_delete=models.CASCADE, related_name="links", verbose_name=_("run"))
    number = models.PositiveIntegerField(_("number"))
    url = models.TextField(_("address"))

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links")
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="link_once_per_run")]

    def __str__(self):
        return self.url


class Hit(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", _("open")
        CLICK = "click", _("click")

    # The stream entry's id (milliseconds << 20 | sequence): a hit written twice is one row.
    hit_id = models.BigIntegerField(_("hit id"), primary_key=True)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    at = models.DateTimeField(_("time"))
    # No database constraint: the drain's statement joins the delivery already, and a per-row
    # foreign-key check would cost it a third of its speed. Django still cascades deletes.
    delivery = models.ForeignKey(
        "delivery.Delivery",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="hits",
        verbose_name=_("delivery"),
    )
    # Copied from the delivery, so reports and the client page read one table.
    mailing_id = models.BigIntegerField(_("mailing"))
    client_id = models.BigIntegerField(_("client"), null=True)
    # No index or constraint of its own (the drain writes fastest with few indexes): a link goes
    # with its run, and the run's deliveries take their hits with them.
    link = models.ForeignKey(
        Link,
        on_delete=models.DO_NOTHING,
        null=True,
        db_index=False,
        db_constraint=False,
        related_name="hits",
        verbose_name=_("link"),
    )
    machine = models.BooleanField(_("machine"), default=False)
    # Why it is a machine: proxy, bot, head, scanner (too soon after delivery), burst (many links at once).
    reason = models.CharField(_("reason"), max_length=10, blank=True)
    # Never a full address: IPv4 /24, IPv6 /48.
    network = models.CharField(_("network"), max_length=50, blank=True)
    agent = models.CharField(_("user agent family"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("hit")
        verbose_name_plural = _("hits")
        indexes = [
            models.Index(fields=["mailing_id", "at"], name="hit_mailing_at_idx"),
            models.Index(fields=["client_id", "at"], name="hit_client_at_idx"),
        ]


class DeliveryEngagement(models.Model):
    """What one delivery's recipient did: first human open/click and counts (machines apart)."""

    delivery = models.OneToOneField(
        "delivery.Delivery", on_delete=models.CASCADE, primary_key=True, db_constraint=False, related_name="engagement"
    )
    mailing_id = models.BigIntegerField(_("mailing"))
    client_id = models.BigIntegerField(_("client"), null=True)
    # A human click implies an open (images are often blocked): first_open_at is set by it too.
    first_open_at = models.DateTimeField(_("first open"), null=True)
    first_click_at = models.DateTimeField(_("first click"), null=True)
    opens = models.PositiveIntegerField(_("opens"), default=0)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)
    machine_opens = models.PositiveIntegerField(_("machine opens"), default=0)
    machine_clicks = models.PositiveIntegerField(_("machine clicks"), default=0)

    class Meta:
        verbose_name = _("delivery engagement")
        verbose_name_plural = _("delivery engagement")
        indexes = [models.Index(fields=["mailing_id"], name="engagement_mailing_idx")]

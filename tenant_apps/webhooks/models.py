"""Outgoing webhooks: endpoints, the outbox of events, the messages sent and every attempt (the delivery log).

All of it lives in the workspace's schema. An event is written to the outbox
in the same transaction as what it reports, once per subscribed endpoint; the
sender moves an endpoint's waiting events into messages of up to
WEBHOOKS_BATCH_SIZE events (one DELETE … RETURNING and one INSERT, in one
transaction), and a message keeps its id and body across retries, so
receivers can drop duplicates by `webhook-id` (and events by id).
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenant_apps.senders.crypto import EncryptedTextField

EVENT_TYPES = [
    ("delivery.sent", _("a message was accepted by the mail server")),
    ("delivery.failed", _("a message failed for good")),
    ("delivery.bounced", _("a message bounced")),
    ("delivery.complained", _("a recipient marked a message as spam")),
    ("delivery.opened", _("a recipient opened a message")),
    ("delivery.clicked", _("a recipient clicked a link")),
    ("client.subscribed", _("a client subscribed (to mail, or to a list)")),
    ("client.unsubscribed", _("a client unsubscribed (from everything, or from a list)")),
    ("run.completed", _("a mailing's run finished")),
]
TEST_EVENT = "webhook.test"  # sent by the "send a test event" button to one endpoint, whatever it subscribes to


class Endpoint(models.Model):
    url = models.URLField(_("address"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=40), verbose_name=_("events"))
    # "whsec_" + base64 of 24 random bytes; encrypted at rest with the senders' keys (signing needs the secret).
    secret = EncryptedTextField(_("signing secret"))
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    # The first failure since the last success; WEBHOOKS_DISABLE_AFTER later, still failing, disables it.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    # One sender at a time per endpoint (messages go out in order): a lease, taken by a conditional UPDATE.
    sending_until = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url


class OutboxEvent(models.Model):
    """One event waiting for one endpoint; the sender moves it into a message (deletes it, keeps it in the body)."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="outbox")
    event_id = models.UUIDField()  # the same for every endpoint that gets this event
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["endpoint", "id"], name="outbox_waiting")]


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("given up")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="messages")
    webhook_id = models.CharField(max_length=40, unique=True)  # "msg_…", the webhook-id header
    body = models.TextField()  # signed as is; the same bytes on every retry
    event_count = models.PositiveIntegerField()
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    created = models.DateTimeField(_("created"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at"], condition=models.Q(status="pending"), name="message_due"
            )
        ]


class Attempt(models.Model):
    """One HTTP request: the endpoint's delivery log."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="attempts")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("time"))
    succeeded = models.BooleanField(_("succeeded"))
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time, ms"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-at"], name="attempt_log")]

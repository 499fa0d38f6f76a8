from django.db import models
from django.db.models.functions import Lower
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

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="client_email_ci_unique")]

    def __str__(self):
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SendersConfig(AppConfig):
    name = "tenant_apps.senders"
    verbose_name = _("Sending identities")
    default_auto_field = "django.db.models.BigAutoField"

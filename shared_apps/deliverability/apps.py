from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliverabilityConfig(AppConfig):
    name = "shared_apps.deliverability"
    label = "deliverability"
    verbose_name = _("Deliverability (public side)")

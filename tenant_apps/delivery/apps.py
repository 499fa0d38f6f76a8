from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "tenant_apps.delivery"
    label = "delivery"
    verbose_name = _("Delivery")

    def ready(self):
        from . import signals, tasks  # noqa: F401 - connect the receivers, register the huey tasks

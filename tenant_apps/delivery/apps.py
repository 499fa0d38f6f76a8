from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "tenant_apps.delivery"
    label = "delivery"
    verbose_name = _("Delivery")

    def ready(self):
        from . import tasks  # noqa: F401 - register the huey tasks

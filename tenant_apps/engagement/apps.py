from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "tenant_apps.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self):
        from . import tasks  # noqa: F401 - register the huey drain task

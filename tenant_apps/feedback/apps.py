from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "tenant_apps.feedback"
    label = "feedback"
    verbose_name = _("Deliverability feedback")

    def ready(self):
        from . import tasks  # noqa: F401 - register the huey tasks

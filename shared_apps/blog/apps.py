from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlogConfig(AppConfig):
    name = "shared_apps.blog"
    label = "blog"
    verbose_name = _("Blog")

    def ready(self):
        from . import signals

        signals.connect()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Workspaces")

    def ready(self):
        from django.db.migrations.recorder import MigrationRecorder

        from .deploys import has_migrations_table

        MigrationRecorder.has_table = has_migrations_table  # a lookup by name, not a scan of the catalog

"""`migrate` migrates every schema, the clone template included.

django-tenants' own `migrate` migrates the public schema and the workspaces
but not TENANT_BASE_SCHEMA, which is no Workspace row: a template left behind
would give new workspaces old tables while django_migrations claims
otherwise. So this one also creates and migrates the template, and makes sure
the public workspace and its domain exist.
"""

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import schema_exists

from shared_apps.landing.stats import refresh_all_stats
from tenants.provisioning import drop_stale_pool, refill_pool
from tenants.services import ensure_public_workspace


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("schema_name") or options.get("app_label") or options.get("plan"):
            return  # a targeted run: leave the template and public rows alone
        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=options.get("verbosity", 1),
        )
        connection.set_schema_to_public()
        # Pooled schemas of an older template are dropped and replaced by clones of this one.
        dropped, made = drop_stale_pool(), refill_pool()
        if options.get("verbosity", 1):
            self.stdout.write(f"Workspace pool: {dropped} outdated schemas dropped, {made} cloned.")
        ensure_public_workspace()
        # The home page's counters start right after a deploy (and a new counter table is filled).
        refresh_all_stats()

"""`migrate` migrates every schema, the clone template included.

django-tenants' own `migrate` migrates the public schema and the workspaces
but not TENANT_BASE_SCHEMA, which is no Workspace row: a template left behind
would give new workspaces old tables while django_migrations claims
otherwise. So this one also creates and migrates the template, and makes sure
the public workspace and its domain exist.

Order of a full run: the public schema, then the template, then only the
workspaces that lack a migration the template has (tenants/deploys.py: one
statement per 1,000 schemas finds them), so a deploy without a tenant
migration touches no workspace schema. Targeted runs (--schema, --shared,
--tenant, an app label, --plan) are django-tenants' own.
"""

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import schema_exists

from shared_apps.landing.stats import refresh_all_stats
from tenants.deploys import schemas_behind_template
from tenants.provisioning import drop_stale_pool, refill_pool
from tenants.services import ensure_public_workspace


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        targeted = ("schema_name", "app_label", "plan", "shared", "tenant")
        if any(options.get(option) for option in targeted):
            super().handle(*args, **options)  # a targeted run: leave the template and public rows alone
            return
        verbosity = options.get("verbosity", 1)
        super().handle(*args, **{**options, "shared": True})  # the public schema only
        self.migrate_template(verbosity)
        connection.set_schema_to_public()
        behind, checked = schemas_behind_template()
        if behind:
            executor = get_executor(codename=self.executor)(self.args, {**self.options, "shared": False})
            executor.run_migrations(tenants=behind)
            connection.set_schema_to_public()
        if verbosity:
            named = ", ".join(behind[:10]) + (" …" if len(behind) > 10 else "")
            self.stdout.write(
                f"Workspaces: {checked} checked, {len(behind)} behind the template"
                + (f", migrated: {named}." if behind else ".")
            )
        # Pooled schemas of an older template are dropped and replaced by clones of this one.
        dropped, made = drop_stale_pool(), refill_pool()
        if verbosity:
            self.stdout.write(f"Workspace pool: {dropped} outdated schemas dropped, {made} cloned.")
        ensure_public_workspace()
        # The home page's counters start right after a deploy (and a new counter table is filled).
        refresh_all_stats()

    def migrate_template(self, verbosity):
        """Create and migrate the clone template (it is no Workspace row, so nothing else does)."""
        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)

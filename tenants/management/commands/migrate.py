"""`migrate` migrates every schema, the clone template included.

django-tenants' own `migrate` migrates the public schema and the workspaces
but not TENANT_BASE_SCHEMA, which is no Workspace row: a template left behind
would give new workspaces old tables while django_migrations claims
otherwise. So this one also creates and migrates the template, and makes sure
the public workspace and its domain exist.

Order of a full run: the public schema, then the template, then only the
workspaces that lack a migration the template has (tenants/deploys.py: one
statement per 1,000 schemas finds them), so a deploy without a tenant
migration touches no workspace schema. Those are migrated by the rolling
job (tenants/rolling.py: batches, parallel connections, resumable, the
collected SQL replayed where it can be; --workers, --batch, --no-replay).
Targeted runs (--schema, --shared, --tenant, an app label, --plan) are
django-tenants' own.
"""

from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import schema_exists

from shared_apps.landing.models import SiteStats
from shared_apps.landing.stats import refresh_all_stats
from shared_apps.landing.tasks import refresh_site_stats
from tenants.provisioning import drop_stale_pool, refill_pool
from tenants.rolling import BATCH, WORKERS, run_rolling_migration
from tenants.services import ensure_public_workspace


class Command(MigrateSchemasCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--workers", type=int, default=WORKERS, help="Parallel connections migrating workspaces (default 4)."
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH, help="Workspaces between two progress records (default 100)."
        )
        parser.add_argument(
            "--no-replay",
            action="store_true",
            help="Migrate every workspace with Django's executor, not by replaying the collected SQL.",
        )

    def handle(self, *args, **options):
        targeted = ("schema_name", "app_label", "plan", "shared", "tenant")
        if any(options.get(option) for option in targeted):
            super().handle(*args, **options)  # a targeted run: leave the template and public rows alone
            return
        verbosity = options.get("verbosity", 1)
        super().handle(*args, **{**options, "shared": True})  # the public schema only
        self.migrate_template(verbosity)
        connection.set_schema_to_public()
        log = self.stdout.write if verbosity else (lambda line: None)
        result = run_rolling_migration(
            workers=options["workers"], batch=options["batch"], log=log, replay_sql=not options["no_replay"]
        )
        if verbosity:
            named = ", ".join(result.migrated[:10]) + (" …" if len(result.migrated) > 10 else "")
            paths = (
                f" ({len(result.replayed)} by replaying the collected SQL, "
                f"{len(result.migrated) - len(result.replayed)} by Django's executor)"
            )
            self.stdout.write(
                f"Workspaces: {result.checked} checked, {result.behind} behind the template"
                + (
                    f", migrated: {named}. {len(result.migrated)} in {result.seconds:.1f} s{paths}."
                    if result.behind
                    else "."
                )
            )
        if result.failed:
            raise CommandError(f"Workspace {result.job.failed_schema} failed to migrate: {result.job.error}")
        # Pooled schemas of an older template are dropped and replaced by clones of this one.
        dropped, made = drop_stale_pool(), refill_pool()
        if verbosity:
            self.stdout.write(f"Workspace pool: {dropped} outdated schemas dropped, {made} cloned.")
        ensure_public_workspace()
        self.refresh_home_figures(log)

    def refresh_home_figures(self, log):
        """A new installation gets the home page's figures at once; a deploy queues their repair.

        The repair reads every schema (~20 s at 10,000 workspaces): a deploy should not wait for it,
        and the figures are kept right as data changes anyway (landing/counters.py).
        """
        if SiteStats.objects.filter(refreshed_at__isnull=False).exists():
            refresh_site_stats()
            log("Home page figures: repair queued.")
        else:
            refresh_all_stats()

    def migrate_template(self, verbosity):
        """Create and migrate the clone template (it is no Workspace row, so nothing else does)."""
        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)

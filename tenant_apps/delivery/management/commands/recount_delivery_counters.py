from django.core.management.base import BaseCommand
from django_tenants.utils import get_public_schema_name, schema_context

from tenant_apps.delivery import counters
from tenants.crossschema import workspace_schemas


class Command(BaseCommand):
    help = (
        "Recompute the report counters (per run, per hour) from the delivery log. "
        "Mailings with a sending run are skipped unless named with --mailing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="only this workspace schema")
        parser.add_argument("--mailing", type=int, help="only this mailing (needs --schema), even while sending")

    def handle(self, *args, schema=None, mailing=None, **options):
        with schema_context(get_public_schema_name()):
            schemas = [schema] if schema else [name for _, name in workspace_schemas()]
        for name in schemas:
            with schema_context(name):
                if mailing is not None:
                    counters.recount_mailing(mailing)
                    done = 1
                else:
                    done = counters.recount_idle_mailings()
            self.stdout.write(f"{name}: {done} mailings recounted")

from django.core.management.base import BaseCommand

from shared_apps.console.tasks import repair_all


class Command(BaseCommand):
    help = "Rebuild the managers' console index (mailings, clients) from every workspace schema, now."

    def handle(self, *args, **options):
        totals = repair_all()
        summary = (
            "{workspaces} workspaces: {mailings} mailings, {clients} clients indexed, {removed} stale rows removed"
        )
        self.stdout.write(summary.format(**totals))

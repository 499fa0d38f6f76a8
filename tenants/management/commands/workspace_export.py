"""`python manage.py workspace_export <slug> FILE`: one workspace's schema and public rows in one file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.moving import MoveError, export_workspace


class Command(BaseCommand):
    help = "Write one workspace (its schema and its public rows) to FILE (tar.gz) for workspace_import."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, slug, file, **options):
        try:
            workspace = export_workspace(slug, file)
        except MoveError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Workspace {workspace.slug} ({workspace.schema_name}) written to {file}.")

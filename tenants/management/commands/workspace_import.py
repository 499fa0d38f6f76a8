"""`python manage.py workspace_import FILE`: restore a workspace_export file into this database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.moving import MoveError, import_workspace


class Command(BaseCommand):
    help = "Restore a workspace written by workspace_export (refuses a slug or schema this database has)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            workspace = import_workspace(file)
        except MoveError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Workspace {workspace.slug} restored at {workspace.host}.")

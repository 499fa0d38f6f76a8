"""Create the demo user and workspace for `make run` (idempotent) and print how to get in."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from shared_apps.accounts.services import mark_email_verified
from tenants.models import Workspace
from tenants.services import create_workspace

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "rassylka-demo"
DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo user and the demo workspace (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options):
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(email=DEMO_EMAIL)
            if created:
                user.full_name = "Demo User"
                user.set_password(DEMO_PASSWORD)
                user.save()
            mark_email_verified(user)
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
        if workspace is None:
            workspace = create_workspace(name="Demo", slug=DEMO_SLUG, owner=user)

        port = options["port"]
        suffix = "" if port == 80 else f":{port}"
        lines = [
            f"Public site:     http://{settings.BASE_DOMAIN}{suffix}/",
            f"Demo workspace:  http://{workspace.host}{suffix}/",
            f"Sign in as:      {DEMO_EMAIL} / {DEMO_PASSWORD}",
        ]
        if settings.MAIL_CATCHER_DIR:
            lines.append(f"Received mail:   http://{settings.BASE_DOMAIN}{suffix}/dev/mail/")
        self.stdout.write("\n".join(lines))

"""Create or update the superuser from CSU_EMAIL / CSU_PASSWORD (or prompts)."""

import getpass
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from shared_apps.accounts.services import mark_email_verified


class Command(BaseCommand):
    help = "Create the superuser from CSU_EMAIL and CSU_PASSWORD; running it again updates it."

    def add_arguments(self, parser):
        parser.add_argument("--email", default=None)
        parser.add_argument("--password", default=None)

    def handle(self, *args, **options):
        email = options["email"] or settings.CSU_EMAIL or self._prompt("Email: ")
        password = options["password"] or settings.CSU_PASSWORD or self._prompt_password()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"Invalid email {email!r}") from exc
        if not password:
            raise CommandError("A password is required (CSU_PASSWORD)")

        User = get_user_model()
        with transaction.atomic():
            user, created = User.objects.get_or_create(email=email.lower())
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            mark_email_verified(user)
        self.stdout.write(f"Superuser {user.email} {'created' if created else 'updated'}.")

    def _prompt(self, label):
        if not sys.stdin.isatty():
            raise CommandError("Set CSU_EMAIL and CSU_PASSWORD (no terminal to ask)")
        return input(label).strip()

    def _prompt_password(self):
        if not sys.stdin.isatty():
            raise CommandError("Set CSU_PASSWORD (no terminal to ask)")
        return getpass.getpass("Password: ")

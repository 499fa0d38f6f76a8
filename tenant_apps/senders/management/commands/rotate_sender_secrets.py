"""Re-encrypt every stored secret (SMTP passwords, DKIM keys) with the newest SENDERS_ENCRYPTION_KEYS key.

Key rotation: put a new key first in SENDERS_ENCRYPTION_KEYS (old ones after
it; everything still decrypts), restart, run this command, then drop the old key.
"""

from django.core.management.base import BaseCommand
from django_tenants.utils import get_tenant_model, schema_context

from tenant_apps.senders.secrets import rotate_workspace_secrets


class Command(BaseCommand):
    help = "Re-encrypt SMTP passwords and DKIM keys of every workspace with the newest encryption key."

    def handle(self, *args, **options):
        total = 0
        for schema_name in (
            get_tenant_model().objects.exclude(schema_name="public").values_list("schema_name", flat=True)
        ):
            with schema_context(schema_name):
                total += rotate_workspace_secrets()
        self.stdout.write(f"re-encrypted: {total}")

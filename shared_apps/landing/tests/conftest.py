from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context


def add_clients(workspace, *emails):
    from tenant_apps.audience.models import Client

    with schema_context(workspace.schema_name):
        Client.objects.bulk_create([Client(email=email) for email in emails])


def add_mailing(workspace, status="created", **fields):
    from shared_apps.landing import counters
    from tenant_apps.campaigns.models import Mailing, Message
    from tenant_apps.delivery import services as delivery

    with schema_context(workspace.schema_name):
        message = Message.objects.create(subject="Hello", body_text="Hello")
        now = timezone.now()
        mailing = Mailing.objects.create(
            name=fields.pop("name", "Mailing"),
            message=message,
            start_at=fields.pop("start_at", now - timedelta(hours=1)),
            end_at=now + timedelta(days=1),
            **fields,
        )
        delivery.mailing_changed(mailing)  # what every service saving a mailing calls
        # The status is the engine's to set; set it as the engine does (update(), then the counters).
        Mailing.objects.filter(pk=mailing.pk).update(status=status)
        mailing.status = status
        counters.mailings_changed()
        return mailing


@pytest.fixture
def refresh_stats():
    """Run the periodic job (huey runs it inline in the tests)."""
    from shared_apps.landing.tasks import refresh_site_stats

    def run():
        refresh_site_stats.call_local()

    return run

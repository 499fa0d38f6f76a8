from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from saas import factories


def add_clients(workspace, *emails):
    factories.make_clients(*emails, workspace=workspace)


def add_mailing(workspace, status="created", **fields):
    """A mailing running from an hour ago to tomorrow, handed to delivery as every service does,
    then given `status` as the engine gives it (an UPDATE, then the counters)."""
    from shared_apps.landing import counters

    now = timezone.now()
    mailing = factories.make_mailing(
        fields.pop("name", "Mailing"),
        message=factories.make_message("Hello", "Hello", workspace=workspace),
        workspace=workspace,
        start_at=fields.pop("start_at", now - timedelta(hours=1)),
        end_at=now + timedelta(days=1),
        hand_off=True,
        **fields,
    )
    with schema_context(workspace.schema_name):
        factories.set_status(mailing, status)
        counters.mailings_changed()
    return mailing


@pytest.fixture
def refresh_stats():
    """Run the periodic job (huey runs it inline in the tests)."""
    from shared_apps.landing.tasks import refresh_site_stats

    def run():
        refresh_site_stats.call_local()

    return run

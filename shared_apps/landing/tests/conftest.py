from datetime import timedelta

import pytest
from django.utils import timezone

from saas import factories


def add_clients(workspace, *emails):
    factories.make_clients(*emails, workspace=workspace)


def add_mailing(workspace, status="created", **fields):
    """A mailing running from an hour ago to tomorrow, with `status` set as the engine sets it."""
    now = timezone.now()
    return factories.make_mailing(
        fields.pop("name", "Mailing"),
        message=factories.make_message("Hello", "Hello", workspace=workspace),
        workspace=workspace,
        start_at=now - timedelta(hours=1),
        end_at=now + timedelta(days=1),
        status=status,
        **fields,
    )


@pytest.fixture
def refresh_stats():
    """Run the periodic job (huey runs it inline in the tests)."""
    from shared_apps.landing.tasks import refresh_site_stats

    def run():
        refresh_site_stats.call_local()

    return run

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from saas import factories

_numbers = itertools.count(1)


@pytest.fixture
def manager(user_factory):
    """A member of the Managers group: oversees every workspace."""
    return factories.make_manager(email="manager@example.com")


@pytest.fixture
def scoped_manager(user_factory, workspace):
    """A manager for acme only: `oversee_workspace` on that row, not in the group."""
    from guardian.shortcuts import assign_perm

    user = user_factory(email="scoped-manager@example.com")
    assign_perm("tenants.oversee_workspace", user, workspace)
    return user


@pytest.fixture
def console_client(public_client, manager):
    public_client.force_login(manager)
    return public_client


@pytest.fixture
def make_mailing():
    """Create a mailing (and its message) inside `workspace`'s schema."""

    def make(workspace, name=None, *, start_in_hours=1, **fields):
        message = factories.make_message(subject=f"Subject of {name}", body_text="Hello", workspace=workspace)
        start = timezone.now() + timedelta(hours=start_in_hours)
        return factories.make_mailing(
            name or f"Mailing {next(_numbers)}",
            message=message,
            workspace=workspace,
            start_at=start,
            end_at=start + timedelta(days=1),
            **fields,
        )

    return make


@pytest.fixture
def make_client():
    def make(workspace, email, **fields):
        return factories.make_client(email, workspace=workspace, **fields)

    return make


@pytest.fixture
def reload_mailing():
    """Read a mailing back from its workspace's schema."""
    from tenant_apps.campaigns.models import Mailing

    def reload(workspace, pk):
        with schema_context(workspace.schema_name):
            return Mailing.objects.get(pk=pk)

    return reload

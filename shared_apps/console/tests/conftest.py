import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

_numbers = itertools.count(1)


@pytest.fixture
def manager(user_factory):
    """A member of the Managers group: oversees every workspace."""
    from tenants.access import ensure_managers_group

    user = user_factory(email="manager@example.com")
    user.groups.add(ensure_managers_group())
    return user


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
    from tenant_apps.campaigns.models import Mailing, Message

    def make(workspace, name=None, *, start_in_hours=1, **fields):
        with schema_context(workspace.schema_name):
            message = Message.objects.create(subject=f"Subject of {name}", body_text="Hello")
            start = timezone.now() + timedelta(hours=start_in_hours)
            status = fields.pop("status", None)
            mailing = Mailing.objects.create(
                name=name or f"Mailing {next(_numbers)}",
                message=message,
                start_at=start,
                end_at=start + timedelta(days=1),
                **fields,
            )
            if status:
                # The status is the engine's to set (its post_save derives it); set it as the engine does.
                Mailing.objects.filter(pk=mailing.pk).update(status=status)
                mailing.status = status
            return mailing

    return make


@pytest.fixture
def make_client():
    from tenant_apps.audience.models import Client

    def make(workspace, email, **fields):
        with schema_context(workspace.schema_name):
            return Client.objects.create(email=email, **fields)

    return make


@pytest.fixture
def reload_mailing():
    """Read a mailing back from its workspace's schema."""
    from tenant_apps.campaigns.models import Mailing

    def reload(workspace, pk):
        with schema_context(workspace.schema_name):
            return Mailing.objects.get(pk=pk)

    return reload

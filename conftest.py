"""Test fixtures shared by every app.

The test database is created once per session by pytest-django, which calls
our `migrate` (public schema, workspaces and the clone template). Then the
public workspace and two test workspaces ("acme" and "globex") are created
once, committed, so every test (and the live server) can use their schemas.
Each test still runs in a transaction that is rolled back.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as DjangoClient
from django.utils import translation

WORKSPACE_SLUG = "acme"
OTHER_WORKSPACE_SLUG = "globex"


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_modify_db_settings
):
    """Create the test database always (pytest-django would skip it when only
    browser journeys, which use no `db` fixture, are collected), then the
    public and test workspaces, committed."""
    from django.test.utils import setup_databases, teardown_databases

    from tenants.models import Workspace
    from tenants.services import create_workspace, ensure_public_workspace

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=verbosity, interactive=False, keepdb=django_db_keepdb, aliases={"default"})
        ensure_public_workspace()
        for slug, name in ((WORKSPACE_SLUG, "Acme"), (OTHER_WORKSPACE_SLUG, "Globex")):
            if not Workspace.objects.filter(slug=slug).exists():
                create_workspace(name=name, slug=slug)
        connection.set_schema_to_public()
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=verbosity)


@pytest.fixture(autouse=True)
def _public_schema_after_each_test():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request's language stays active in the test's thread after it; the next test starts in Russian."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def workspace(db):
    from tenants.models import Workspace

    return Workspace.objects.get(slug=WORKSPACE_SLUG)


@pytest.fixture
def other_workspace(db):
    from tenants.models import Workspace

    return Workspace.objects.get(slug=OTHER_WORKSPACE_SLUG)


@pytest.fixture
def in_workspace(workspace):
    """Run the test's ORM calls inside the acme schema."""
    connection.set_tenant(workspace)
    yield workspace
    connection.set_schema_to_public()


@pytest.fixture
def user_factory(db):
    """saas.factories.make_user: a verified user (email, password, **fields)."""
    from saas.factories import make_user

    return make_user


@pytest.fixture
def member_factory(db):
    """saas.factories.make_member: a user with a role in a workspace."""
    from saas.factories import make_member

    return make_member


def host_client(host, user=None):
    client = DjangoClient(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def public_client(db):
    return host_client("localhost")


@pytest.fixture
def workspace_client(workspace):
    """A client on acme.localhost (anonymous; call .force_login(user))."""
    return host_client(workspace.host)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


pytest_plugins = ["saas.testing"]


@pytest.fixture
def home_figures(db):
    """Read (mailings, mailings sending now, unique recipients) as the home page shows them now."""
    from django_tenants.utils import get_public_schema_name, schema_context

    from shared_apps.landing.services import site_counts

    def read():
        with schema_context(get_public_schema_name()):
            counts = site_counts()
        return counts["mailings_total"], counts["mailings_active"], counts["unique_clients"]

    return read

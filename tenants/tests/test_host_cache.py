"""The workspace behind a host is cached and forgotten whenever a workspace or domain changes."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from tenants.middleware import WorkspaceMainMiddleware
from tenants.models import Domain
from tenants.services import update_workspace_settings


def lookup(hostname):
    return WorkspaceMainMiddleware(lambda request: None).get_tenant(Domain, hostname)


def queries_of(function):
    """The result and how many queries read the domain table."""
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return result, sum("tenants_domain" in query["sql"] for query in queries.captured_queries)


def test_second_lookup_of_a_host_reads_no_row(db, workspace):
    first, first_queries = queries_of(lambda: lookup(workspace.host))
    second, second_queries = queries_of(lambda: lookup(workspace.host))

    assert first == second == workspace
    assert first_queries == 1
    assert second_queries == 0


def test_renamed_workspace_is_seen_at_once(db, workspace):
    lookup(workspace.host)

    update_workspace_settings(workspace, name="Acme Renamed", time_zone="Asia/Tokyo")

    assert lookup(workspace.host).name == "Acme Renamed"
    assert lookup(workspace.host).time_zone == "Asia/Tokyo"


def test_disabled_workspace_is_unknown_at_once(db, workspace):
    lookup(workspace.host)

    workspace.is_active = False
    workspace.save(update_fields=["is_active"])

    with pytest.raises(Domain.DoesNotExist):
        lookup(workspace.host)


def test_a_host_moved_away_no_longer_leads_to_its_old_workspace(db, workspace):
    lookup(workspace.host)
    domain = Domain.objects.get(domain=workspace.host)

    domain.domain = "acme-moved.localhost"
    domain.save()

    with pytest.raises(Domain.DoesNotExist):
        lookup(workspace.host)
    assert lookup("acme-moved.localhost") == workspace


def test_cache_is_forgotten_when_changed_from_inside_a_workspace_schema(db, workspace):
    lookup(workspace.host)
    connection.set_tenant(workspace)  # a settings page on the workspace host

    update_workspace_settings(workspace, name="Acme Inside", time_zone="UTC")
    connection.set_schema_to_public()

    assert lookup(workspace.host).name == "Acme Inside"


def test_unknown_host_is_not_cached_so_a_new_workspace_answers_at_once(db, workspace):
    with pytest.raises(Domain.DoesNotExist):
        lookup("initech.localhost")

    Domain.objects.create(domain="initech.localhost", tenant=workspace, is_primary=False)

    assert lookup("initech.localhost") == workspace


def test_request_to_a_workspace_host_routes_to_its_schema_from_the_cache(db, workspace):
    lookup(workspace.host)
    request = RequestFactory().get("/", HTTP_HOST=workspace.host)

    WorkspaceMainMiddleware(lambda request: None).process_request(request)

    assert request.tenant == workspace
    assert connection.schema_name == workspace.schema_name

"""Property-based requests from the served OpenAPI schema against a live server (schemathesis).

Every operation gets a few generated requests (valid and invalid) with a
read-write key of a workspace of its own; none may answer 500, and every
answer must match the schema (problem+json errors included). Derandomized:
the same requests on every run.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

SLUG = "schemathesis"


@pytest.fixture(scope="session")
def api_site(live_site, django_db_blocker):
    """The live server, a committed workspace of this test's own and a read-write key of it."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from saas import factories
    from tenant_apps.api.keys import create_key
    from tenants.models import Workspace
    from tenants.services import create_workspace

    with django_db_blocker.unblock():
        workspace = Workspace.objects.filter(slug=SLUG).first() or create_workspace(name="Schemathesis", slug=SLUG)
        with schema_context(workspace.schema_name):
            _key, secret = create_key(name="schemathesis", access="read_write", expires_at=None)
            factories.make_client()  # something for the lists and ids to find
        connection.set_schema_to_public()
    return live_site, workspace, secret


@pytest.fixture
def api_schema(api_site, settings, engine_settings, smtp_server):
    live, workspace, secret = api_site
    settings.API_RATE_PER_SECOND, settings.API_RATE_BURST = 100_000, 100_000
    engine_settings(smtp_server.port)  # transactional sends go to a local SMTP server at once
    headers = {"Host": workspace.host, "Authorization": f"Bearer {secret}"}
    # The coverage phase alone makes ~2,000 requests; the examples and fuzzing phases, a few per operation.
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {"seed": 14, "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
    )
    url = live.url("/api/v1/schema/")
    schema = schemathesis.openapi.from_url(url, headers=headers, timeout=30, config=config)
    schema.base_url = live.url("/").rstrip("/")
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_matches_the_schema(case, api_site):
    live, workspace, secret = api_site
    case.call_and_validate(
        base_url=live.url("/").rstrip("/"),
        headers={"Host": workspace.host, "Authorization": f"Bearer {secret}"},
        checks=[not_a_server_error, response_schema_conformance],
    )

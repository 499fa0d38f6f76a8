"""The OpenAPI schema and its Swagger UI / Redoc pages, from the project's own static files."""

import re

import pytest

from saas.factories import make_member

from .conftest import Api

pytestmark = pytest.mark.django_db


def test_members_read_the_schema_and_keys_read_it_under_v1(workspace, api):
    from conftest import host_client

    page = host_client(workspace.host, make_member(workspace, "viewer"))

    for_members = page.get("/api/schema/")
    for_keys = api.get("/api/v1/schema/")

    assert for_members.status_code == for_keys.status_code == 200
    assert for_members.json()["openapi"].startswith("3.")
    assert "/api/v1/clients/bulk/" in for_keys.json()["paths"]
    assert for_keys.json()["servers"] == [{"url": "http://acme.localhost"}]
    assert Api(workspace.host, None).get("/api/v1/schema/").status_code == 401


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/redoc/"])
def test_docs_pages_load_everything_from_our_own_static_files(workspace, path):
    from conftest import host_client

    response = host_client(workspace.host, make_member(workspace, "viewer")).get(path)

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("drf_spectacular_sidecar" in source for source in sources)
    assert not [source for source in sources if source.startswith(("http:", "https:", "//"))]
    assert "/api/schema/" in html


def test_docs_are_for_members_only(workspace, user_factory):
    from conftest import host_client

    stranger = host_client(workspace.host, user_factory())

    assert stranger.get("/api/docs/").status_code == 404
    assert stranger.get("/api/schema/").status_code == 404

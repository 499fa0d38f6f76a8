import json

import pytest
from django.test import Client as DjangoClient
from django_tenants.utils import schema_context


def make_key(workspace, access="read_write", **fields):
    """A key of `workspace` and its secret."""
    from tenant_apps.api.keys import create_key

    with schema_context(workspace.schema_name):
        return create_key(name=fields.pop("name", "test"), access=access, expires_at=fields.pop("expires_at", None))


class Api:
    """A JSON client for one host with one key: api.get("/clients/"), api.post("/clients/", {...})."""

    def __init__(self, host, secret):
        self.client = DjangoClient(HTTP_HOST=host)
        # English answers (the default is Russian), as an integration would ask with Accept-Language.
        self.headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if secret:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"

    def call(self, method, path, data=None, **extra):
        url = path if path.startswith("/api/") else "/api/v1" + path
        body = json.dumps(data) if data is not None else None
        kwargs = {"content_type": "application/json"} if body is not None else {}
        return (
            getattr(self.client, method)(url, body, **kwargs, **self.headers, **extra)
            if body
            else getattr(self.client, method)(url, **self.headers, **extra)
        )

    def get(self, path, params=None, **extra):
        if path.startswith("http"):  # a "next" link
            path = "/" + path.split("/", 3)[3]
        return self.client.get(path if path.startswith("/api/") else "/api/v1" + path, params, **self.headers, **extra)

    def post(self, path, data=None, **extra):
        return self.call("post", path, data if data is not None else {}, **extra)

    def patch(self, path, data, **extra):
        return self.call("patch", path, data, **extra)

    def put(self, path, data, **extra):
        return self.call("put", path, data, **extra)

    def delete(self, path, **extra):
        return self.call("delete", path, **extra)


@pytest.fixture
def api(workspace):
    """acme's API with a read-write key of acme."""
    _key, secret = make_key(workspace)
    return Api(workspace.host, secret)


@pytest.fixture
def api_as(db):
    """api_as(workspace, access="read", host=None, **key fields) → Api on a host with a new key of `workspace`."""

    def make(workspace, access="read_write", host=None, **fields):
        _key, secret = make_key(workspace, access, **fields)
        return Api(host or workspace.host, secret)

    return make


@pytest.fixture(autouse=True)
def _no_rate_limit_unless_asked(settings):
    settings.API_RATE_BURST = 10_000
    settings.API_RATE_PER_SECOND = 10_000


# The delivery tests' SMTP server over TCP and engine settings, for transactional sends.
from tenant_apps.delivery.tests.conftest import (  # noqa: E402, F401
    _fresh_worker_connection,
    engine_settings,
    smtp_server,
)

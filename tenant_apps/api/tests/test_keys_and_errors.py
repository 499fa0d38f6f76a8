"""Keys (made on the settings page, refused once revoked or expired, valid on their own workspace only),
problem+json errors, unknown fields, the body limit and the per-key rate limit."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_client, make_manager
from tenant_apps.api.keys import hash_secret, revoke_key
from tenant_apps.api.models import ApiKey

from .conftest import Api, make_key

pytestmark = pytest.mark.django_db


def test_owner_creates_a_key_whose_secret_is_shown_once_and_stored_only_as_a_hash(workspace, member_factory):
    from conftest import host_client

    owner = member_factory(workspace, "owner")
    page = host_client(workspace.host, owner)

    response = page.post("/workspace/api-keys/", {"name": "CRM", "access": "read_write"})

    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("rk_") and secret.encode() in response.content
    with schema_context(workspace.schema_name):
        key = ApiKey.objects.get(name="CRM")
    assert key.secret_hash == hash_secret(secret) and secret not in key.secret_hash
    assert secret.startswith(key.prefix + "_")
    again = page.get("/workspace/api-keys/")
    assert secret.encode() not in again.content and key.prefix.encode() in again.content
    assert Api(workspace.host, secret).get("/clients/").status_code == 200


def test_only_owners_create_keys_and_managers_only_look(workspace, member_factory):
    from conftest import host_client

    editor = host_client(workspace.host, member_factory(workspace, "editor"))
    manager = host_client(workspace.host, make_manager())

    assert editor.get("/workspace/api-keys/").status_code == 404
    assert manager.get("/workspace/api-keys/").status_code == 200
    assert b"key-form" not in manager.get("/workspace/api-keys/").content
    assert manager.post("/workspace/api-keys/", {"name": "x", "access": "read"}).status_code == 404
    with schema_context(workspace.schema_name):
        assert not ApiKey.objects.exists()


def test_revoked_key_is_refused_on_the_next_request(workspace):
    key, secret = make_key(workspace)
    api = Api(workspace.host, secret)
    assert api.get("/clients/").status_code == 200

    with schema_context(workspace.schema_name):
        revoke_key(key)

    response = api.get("/clients/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "revoked" in response.json()["detail"]


def test_owner_revokes_a_key_on_the_settings_page(workspace, member_factory):
    from conftest import host_client

    key, secret = make_key(workspace)
    page = host_client(workspace.host, member_factory(workspace, "owner"))

    page.post(f"/workspace/api-keys/{key.pk}/revoke/")

    assert Api(workspace.host, secret).get("/clients/").status_code == 401


def test_expired_key_is_refused(workspace):
    _key, secret = make_key(workspace, expires_at=timezone.now() - timedelta(seconds=1))

    assert Api(workspace.host, secret).get("/clients/").status_code == 401


def test_last_use_is_recorded(workspace, api):
    api.get("/clients/")

    with schema_context(workspace.schema_name):
        assert ApiKey.objects.get().last_used_at is not None


def test_key_of_another_workspace_gets_404_on_this_host_and_a_made_up_one_401(workspace, other_workspace):
    _key, secret = make_key(other_workspace)
    with schema_context(workspace.schema_name):
        client = make_client()

    theirs = Api(workspace.host, secret).get(f"/clients/{client.pk}/")
    listing = Api(workspace.host, secret).get("/clients/")
    made_up = Api(workspace.host, "rk_00000000_" + "x" * 43).get(f"/clients/{client.pk}/")

    assert theirs.status_code == listing.status_code == 404
    assert theirs["Content-Type"] == "application/problem+json"
    assert workspace.name not in theirs.content.decode() and other_workspace.name not in theirs.content.decode()
    assert made_up.status_code == 401


def test_a_revoked_or_expired_key_of_another_workspace_gets_401_here(workspace, other_workspace):
    revoked, revoked_secret = make_key(other_workspace)
    _expired, expired_secret = make_key(other_workspace, expires_at=timezone.now() - timedelta(seconds=1))
    with schema_context(other_workspace.schema_name):
        revoke_key(revoked)

    assert Api(workspace.host, revoked_secret).get("/clients/").status_code == 401
    assert Api(workspace.host, expired_secret).get("/clients/").status_code == 401


def test_no_key_gets_401_with_a_bearer_challenge(workspace):
    response = Api(workspace.host, None).get("/clients/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "method,path,data",
    [
        ("post", "/clients/", {"email": "a@example.com"}),
        ("post", "/lists/", {"name": "L"}),
        ("post", "/messages/", {"subject": "s", "body_text": "b"}),
        ("post", "/clients/bulk/", {"clients": [{"email": "a@example.com"}]}),
    ],
)
def test_read_only_key_is_refused_on_writes(workspace, api_as, method, path, data):
    api = api_as(workspace, "read")

    response = api.call(method, path, data)

    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    with schema_context(workspace.schema_name):
        from tenant_apps.audience.models import Client

        assert not Client.objects.filter(email="a@example.com").exists()
    assert api.get("/clients/").status_code == 200


def test_validation_errors_are_problem_details_with_field_errors(api):
    response = api.post("/clients/", {"email": "not an email", "is_subscribed": "maybe"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400 and body["title"] == "Bad Request" and body["detail"]
    assert set(body["errors"]) == {"is_subscribed"} or "email" in body["errors"]


def test_unknown_fields_are_refused_by_name(api):
    response = api.post("/clients/", {"email": "a@example.com", "colour": "red"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["colour"]


def test_unknown_url_under_the_api_is_a_problem(api):
    response = api.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_changes_are_patches_and_put_is_not_allowed(workspace, api):
    from saas.factories import make_client

    client = make_client(workspace=workspace)

    response = api.put(f"/clients/{client.pk}/", {"email": "x@example.com"})

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"


def test_body_over_the_limit_is_refused_before_reading(api, settings):
    settings.API_MAX_BODY_BYTES = 100

    response = api.post("/clients/", {"email": "a@example.com", "comment": "x" * 200})

    assert response.status_code == 413
    assert "100 bytes" in response.json()["detail"]


def test_malformed_json_is_a_problem(api):
    response = api.client.post("/api/v1/clients/", "{oops", content_type="application/json", **api.headers)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_rate_limit_headers_and_429_with_retry_after(workspace, api_as, settings):
    settings.API_RATE_BURST = 3
    settings.API_RATE_PER_SECOND = 0.5
    api = api_as(workspace, "read")

    answers = [api.get("/lists/") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Limit"] == "3"
    assert [answer["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    refused = answers[3]
    assert int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"] == "application/problem+json"
    other_key = api_as(workspace, "read")
    assert other_key.get("/lists/").status_code == 200  # per key, not per workspace

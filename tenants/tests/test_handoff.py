from urllib.parse import parse_qs, urlparse

import time_machine
from django.core import signing


def open_from_public_site(public_client, user, slug="acme", next_path="/"):
    public_client.force_login(user)
    response = public_client.get(f"/open/{slug}/", {"next": next_path})
    assert response.status_code == 302
    url = urlparse(response["Location"])
    return url, parse_qs(url.query)


def test_member_opening_the_workspace_lands_signed_in_on_its_host(public_client, workspace, member_factory):
    user = member_factory(workspace, "editor")

    url, query = open_from_public_site(public_client, user, next_path="/some/page/")
    workspace_client = type(public_client)(HTTP_HOST=url.netloc)
    response = workspace_client.get(url.path, {"token": query["token"][0], "next": query["next"][0]})

    assert url.netloc == "acme.localhost"
    assert response.status_code == 302 and response["Location"] == "/some/page/"
    assert workspace_client.get("/").wsgi_request.user == user


def test_reused_token_gets_a_clear_page_and_no_session(public_client, workspace, member_factory, workspace_client):
    url, query = open_from_public_site(public_client, member_factory(workspace, "viewer"))
    workspace_client.get(url.path, {"token": query["token"][0]})
    second_browser = type(public_client)(HTTP_HOST="acme.localhost")

    response = second_browser.get(url.path, {"token": query["token"][0]})

    assert response.status_code == 400
    assert "already been used" in response.content.decode() or "уже использована" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_expired_token_is_refused(public_client, workspace, member_factory, workspace_client):
    with time_machine.travel("2030-01-01 12:00:00", tick=False):
        url, query = open_from_public_site(public_client, member_factory(workspace, "viewer"))
    with time_machine.travel("2030-01-01 12:05:00", tick=False):
        response = workspace_client.get(url.path, {"token": query["token"][0]})

    assert response.status_code == 400
    assert response.context["reason"] == "expired"


def test_forged_token_is_refused(workspace_client, workspace):
    forged = signing.dumps({"id": "00000000-0000-0000-0000-000000000000", "ws": workspace.pk}, salt="other-salt")

    response = workspace_client.get("/handoff/", {"token": forged})

    assert response.status_code == 400
    assert response.context["reason"] == "forged"


def test_token_for_another_workspace_is_refused(public_client, workspace, other_workspace, member_factory):
    url, query = open_from_public_site(public_client, member_factory(workspace, "owner"))
    globex = type(public_client)(HTTP_HOST="globex.localhost")

    response = globex.get(url.path, {"token": query["token"][0]})

    assert response.status_code == 400
    assert not response.wsgi_request.user.is_authenticated


def test_non_member_cannot_open_a_workspace(public_client, workspace, user_factory):
    public_client.force_login(user_factory())

    assert public_client.get("/open/acme/").status_code == 404


def test_next_pointing_to_another_host_is_ignored(public_client, workspace, member_factory):
    url, query = open_from_public_site(public_client, member_factory(workspace), next_path="http://evil.example/")

    assert query["next"] == ["/"]

"""Every workspace's clients, searched by email across the workspaces a manager oversees (read only)."""

import pytest

from .helpers import public_url


def listed(response):
    return [(row.workspace.slug, row.email) for row in response.context["page"]]


def test_email_search_finds_clients_in_every_workspace(console_client, workspace, other_workspace, make_client):
    make_client(workspace, "shared@buyer.example", full_name="Ann in Acme")
    make_client(other_workspace, "shared@buyer.example", full_name="Ann in Globex")
    make_client(other_workspace, "another@buyer.example")
    make_client(workspace, "someone@else.example")

    response = console_client.get(public_url("console:clients"), {"email": "@BUYER.example"})

    assert listed(response) == [
        ("globex", "another@buyer.example"),
        ("acme", "shared@buyer.example"),
        ("globex", "shared@buyer.example"),
    ]
    html = response.content.decode()
    assert "Ann in Acme" in html and "Ann in Globex" in html


def test_workspace_filter(console_client, workspace, other_workspace, make_client):
    make_client(workspace, "one@filter.example")
    make_client(other_workspace, "two@filter.example")

    response = console_client.get(public_url("console:clients"), {"email": "@filter.", "workspace": "acme"})

    assert listed(response) == [("acme", "one@filter.example")]


def test_search_wildcards_are_literal(console_client, workspace, make_client):
    make_client(workspace, "a_b@wild.example")
    make_client(workspace, "axb@wild.example")

    response = console_client.get(public_url("console:clients"), {"email": "a_b@"})

    assert listed(response) == [("acme", "a_b@wild.example")]


def test_clients_are_paginated(console_client, workspace, other_workspace, make_client, monkeypatch):
    monkeypatch.setattr("shared_apps.console.views.PER_PAGE", 2)
    for n, ws in enumerate([workspace, other_workspace, workspace]):
        make_client(ws, f"p{n}@paged.example")

    second = console_client.get(public_url("console:clients"), {"email": "@paged.", "page": 2})

    assert listed(second) == [("acme", "p2@paged.example")]
    assert second.context["page"].paginator.count == 3


def test_scoped_manager_sees_only_their_workspace_clients(
    public_client, scoped_manager, workspace, other_workspace, make_client
):
    make_client(workspace, "visible@scope.example")
    make_client(other_workspace, "invisible@scope.example")
    public_client.force_login(scoped_manager)

    everywhere = public_client.get(public_url("console:clients"), {"email": "@scope."})
    other = public_client.get(public_url("console:clients"), {"workspace": "globex"})

    assert listed(everywhere) == [("acme", "visible@scope.example")]
    assert other.context["page"] is None
    assert "invisible@scope.example" not in everywhere.content.decode() + other.content.decode()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_clients_page_speaks_both_languages(console_client, language):
    console_client.cookies["django_language"] = language

    html = console_client.get(public_url("console:clients")).content.decode()

    assert ("Подписан" in html) is (language == "ru")
    assert ("Subscribed" in html) is (language == "en")

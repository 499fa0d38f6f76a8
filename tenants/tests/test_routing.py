from django.urls import reverse


def test_public_host_serves_the_landing_page(public_client):
    response = public_client.get("/")

    assert response.status_code == 200
    assert response.wsgi_request.tenant.schema_name == "public"
    assert b"Rassylka" in response.content


def test_workspace_host_sends_anonymous_visitor_to_public_sign_in(workspace_client):
    response = workspace_client.get("/")

    assert response.status_code == 302
    login = reverse("account_login", urlconf="saas.urls_public")
    assert response["Location"].startswith(f"http://localhost{login}?next=")
    assert "%2Fopen%2Facme%2F" in response["Location"]


def test_workspace_host_serves_member_the_workspace_dashboard(workspace_client, workspace, member_factory):
    workspace_client.force_login(member_factory(workspace, "viewer"))

    response = workspace_client.get("/")

    assert response.status_code == 200
    assert response.wsgi_request.tenant == workspace
    assert "Acme" in response.content.decode()


def test_unknown_subdomain_gets_404_page(db, client):
    response = client.get("/", HTTP_HOST="no-such-workspace.localhost")

    assert response.status_code == 404
    assert "404" in response.content.decode()


def test_disabled_workspace_is_as_unknown_as_a_missing_one(workspace, member_factory, workspace_client):
    user = member_factory(workspace, "owner")
    workspace.is_active = False
    workspace.save(update_fields=["is_active"])
    workspace_client.force_login(user)

    response = workspace_client.get("/")

    assert response.status_code == 404


def test_member_of_other_workspace_gets_404(workspace_client, other_workspace, member_factory):
    workspace_client.force_login(member_factory(other_workspace, "owner"))

    response = workspace_client.get("/")

    assert response.status_code == 404


def test_foreign_host_is_rejected(db, client):
    response = client.get("/", HTTP_HOST="evil.example.org")

    assert response.status_code in (400, 404)

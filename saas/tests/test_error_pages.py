"""Error pages use the site layout and speak the visitor's language."""


def test_forbidden_page_uses_the_site_layout_in_russian(public_client, user_factory):
    public_client.force_login(user_factory())

    response = public_client.get("/blog/manage/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "<title>Доступ запрещён" in page
    assert "bootstrap.min.css" in page
    assert "На главную" in page


def test_forbidden_page_in_english(public_client, user_factory):
    public_client.force_login(user_factory())
    public_client.cookies["django_language"] = "en"

    page = public_client.get("/blog/manage/").content.decode()

    assert "<title>Access denied" in page
    assert "Your account has no rights to open this page." in page


def test_member_who_mistypes_a_workspace_address_is_offered_the_way_back(workspace_client, workspace, member_factory):
    workspace_client.force_login(member_factory(workspace, "viewer"))

    response = workspace_client.get("/no-such-page/")

    assert response.status_code == 404
    assert 'href="/" data-testid="back-to-workspace">Вернуться в «Acme»' in response.content.decode()


def test_public_404_has_no_workspace_link(public_client):
    response = public_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "back-to-workspace" not in response.content.decode()

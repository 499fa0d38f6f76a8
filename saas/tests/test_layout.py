"""The shared page layout."""

import re

from django.contrib.staticfiles import finders


def test_pages_name_a_favicon_that_exists(public_client):
    page = public_client.get("/").content.decode()

    icon = re.search(r'<link rel="icon" href="/static/([^"]+)"', page)
    assert icon, "browsers otherwise ask for /favicon.ico and get a 404 on every page"
    assert finders.find(icon.group(1))


def lit_nav_links(page):
    """The highlighted links of the top navbar (not the account tabs under it)."""
    navbar = re.search(r'<nav class="navbar.*?</nav>', page, re.S).group(0)
    return re.findall(r'class="nav-link active"[^>]*>([^<]+)<', navbar)


def test_public_navbar_lights_the_section_being_visited(public_client, user_factory):
    from tenants.access import ensure_managers_group

    manager = user_factory()
    manager.groups.add(ensure_managers_group())
    public_client.force_login(manager)

    assert lit_nav_links(public_client.get("/workspaces/").content.decode()) == ["Мои пространства"]
    assert lit_nav_links(public_client.get("/workspaces/new/").content.decode()) == ["Мои пространства"]
    assert lit_nav_links(public_client.get("/profile/").content.decode()) == ["Профиль"]
    assert lit_nav_links(public_client.get("/console/users/").content.decode()) == ["Консоль"]
    assert lit_nav_links(public_client.get("/").content.decode()) == []


def test_workspace_menu_links_back_to_my_workspaces_and_the_profile(workspace_client, workspace, member_factory):
    workspace_client.force_login(member_factory(workspace, "viewer"))

    page = workspace_client.get("/").content.decode()

    assert 'href="http://localhost/workspaces/" data-testid="menu-my-workspaces"' in page
    assert 'href="http://localhost/profile/"' in page


def test_breadcrumbs_are_announced_in_the_page_language(workspace_client, workspace, member_factory):
    workspace_client.force_login(member_factory(workspace, "editor"))

    page = workspace_client.get("/clients/import/").content.decode()

    assert '<nav aria-label="Навигационная цепочка">' in page

"""Who may open the console: managers only; everyone else is refused and nothing changes."""

import pytest
from django.urls.resolvers import URLResolver

from shared_apps.console import urls as console_urls

from .helpers import public_url

LISTS = ["console:workspaces", "console:mailings", "console:clients", "console:users"]
MAILING_ACTIONS = ["console:disable_mailing", "console:enable_mailing"]
USER_ACTIONS = ["console:block_user", "console:unblock_user"]
# Confirmation pages: GET only, they change nothing.
MAILING_CONFIRMATIONS = ["console:confirm_disable_mailing"]
USER_CONFIRMATIONS = ["console:confirm_block_user"]
# Managers set a workspace's quotas and sending weight (issue 15): the console's one form on public rows.
WORKSPACE_SETTINGS = ["console:workspace_quotas"]
EVERY_URL = LISTS + MAILING_ACTIONS + USER_ACTIONS + MAILING_CONFIRMATIONS + USER_CONFIRMATIONS + WORKSPACE_SETTINGS


@pytest.fixture
def targets(workspace, make_mailing, user_factory):
    return {"mailing": make_mailing(workspace, "Target"), "user": user_factory(email="target@example.com")}


def console_url(name, workspace, targets):
    if name in MAILING_ACTIONS + MAILING_CONFIRMATIONS:
        return public_url(name, workspace.slug, targets["mailing"].pk)
    if name in USER_ACTIONS + USER_CONFIRMATIONS:
        return public_url(name, targets["user"].pk)
    if name in WORKSPACE_SETTINGS:
        return public_url(name, workspace.slug)
    return public_url(name)


def assert_nothing_changed(workspace, targets, reload_mailing):
    assert reload_mailing(workspace, targets["mailing"].pk).disabled_by_manager is False
    targets["user"].refresh_from_db()
    assert targets["user"].is_active is True


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", EVERY_URL)
def test_anonymous_visitor_is_sent_to_sign_in(public_client, workspace, targets, reload_mailing, name, method):
    url = console_url(name, workspace, targets)

    response = getattr(public_client, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(public_url("account_login"))
    assert_nothing_changed(workspace, targets, reload_mailing)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", EVERY_URL)
@pytest.mark.parametrize("who", ["plain user", "workspace owner"])
def test_signed_in_non_manager_gets_404(
    public_client, user_factory, member_factory, workspace, targets, reload_mailing, who, name, method
):
    if who == "plain user":
        user = user_factory(email="plain@example.com")
    else:
        user = member_factory(workspace, "owner", email="owner@example.com")
    public_client.force_login(user)

    response = getattr(public_client, method)(console_url(name, workspace, targets))

    assert response.status_code == 404
    assert_nothing_changed(workspace, targets, reload_mailing)


def test_blocked_manager_is_sent_to_sign_in(public_client, manager):
    public_client.force_login(manager)
    manager.is_active = False
    manager.save()

    response = public_client.get(public_url("console:workspaces"))

    assert response.status_code == 302
    assert response.url.startswith(public_url("account_login"))


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ["console:users"] + USER_ACTIONS + USER_CONFIRMATIONS)
def test_scoped_manager_gets_404_on_the_users_pages(
    public_client, scoped_manager, workspace, targets, reload_mailing, name, method
):
    public_client.force_login(scoped_manager)

    response = getattr(public_client, method)(console_url(name, workspace, targets))

    assert response.status_code == 404
    assert_nothing_changed(workspace, targets, reload_mailing)


@pytest.mark.parametrize("name", LISTS + MAILING_CONFIRMATIONS + USER_CONFIRMATIONS)
def test_lists_and_confirmations_refuse_posts(console_client, workspace, targets, reload_mailing, name):
    response = console_client.post(console_url(name, workspace, targets), {"name": "changed"})

    assert response.status_code == 405
    assert_nothing_changed(workspace, targets, reload_mailing)


@pytest.mark.parametrize("name", MAILING_ACTIONS + USER_ACTIONS)
def test_toggles_refuse_get(console_client, workspace, targets, reload_mailing, name):
    response = console_client.get(console_url(name, workspace, targets))

    assert response.status_code == 405
    assert_nothing_changed(workspace, targets, reload_mailing)


def test_console_has_no_edit_urls():
    names = {f"console:{pattern.name}" for pattern in console_urls.urlpatterns if not isinstance(pattern, URLResolver)}

    assert names == set(EVERY_URL)


def test_toggles_need_a_csrf_token(manager, workspace, targets, reload_mailing):
    from django.test import Client

    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.force_login(manager)

    for name in MAILING_ACTIONS[:1] + USER_ACTIONS[:1]:
        assert client.post(console_url(name, workspace, targets)).status_code == 403
    assert_nothing_changed(workspace, targets, reload_mailing)


def test_console_is_not_served_on_a_workspace_host(workspace_client, manager):
    workspace_client.force_login(manager)

    assert workspace_client.get("/console/").status_code == 404


@pytest.mark.parametrize(
    ("who", "sees_link"), [("manager", True), ("scoped manager", True), ("plain user", False), ("anonymous", False)]
)
def test_nav_shows_the_console_link_to_managers_only(
    public_client, manager, scoped_manager, user_factory, who, sees_link
):
    users = {"manager": manager, "scoped manager": scoped_manager, "plain user": user_factory(email="p@example.com")}
    if who in users:
        public_client.force_login(users[who])

    html = public_client.get("/").content.decode()

    assert ('data-testid="nav-console"' in html) is sees_link


def test_superuser_may_use_the_console(public_client, user_factory):
    admin = user_factory(email="root@example.com", is_superuser=True, is_staff=True)
    public_client.force_login(admin)

    assert public_client.get(public_url("console:users")).status_code == 200

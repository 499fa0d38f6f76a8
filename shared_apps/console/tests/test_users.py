"""The users page: blocking ends every session at once and stops sign-in."""

from django.conf import settings
from django.contrib.sessions.models import Session

from shared_apps.console import services

from .helpers import public_url


def sessions_of(user):
    return [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]


def test_sessions_live_in_the_database():
    # Blocking deletes session rows; signed-cookie sessions could not be ended.
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


def test_blocking_signs_the_user_out_on_the_public_site_and_in_the_workspace(
    console_client, manager, member_factory, workspace, public_client, workspace_client
):
    from django.test import Client

    victim = member_factory(workspace, "editor", email="victim@example.com")
    on_public = Client(HTTP_HOST="localhost")
    on_public.force_login(victim)
    workspace_client.force_login(victim)
    assert workspace_client.get("/").status_code == 200
    assert on_public.get("/").wsgi_request.user == victim

    response = console_client.post(public_url("console:block_user", victim.pk))

    assert response.status_code == 302
    victim.refresh_from_db()
    assert victim.is_active is False
    assert sessions_of(victim) == []
    assert on_public.get("/").wsgi_request.user.is_authenticated is False
    after = workspace_client.get("/")
    assert after.status_code == 302 and "/accounts/login/" in after.url
    assert console_client.get(public_url("console:users")).status_code == 200  # the manager stays signed in


def test_blocked_user_cannot_sign_in(console_client, user_factory):
    from django.test import Client

    victim = user_factory(email="blocked@example.com", password="a-long-password-1")
    console_client.post(public_url("console:block_user", victim.pk))
    visitor = Client(HTTP_HOST="localhost")

    visitor.post(public_url("account_login"), {"login": "blocked@example.com", "password": "a-long-password-1"})

    assert "_auth_user_id" not in visitor.session


def test_unblocked_user_can_sign_in_again(console_client, user_factory):
    from django.test import Client

    person = user_factory(email="back@example.com", password="a-long-password-1", is_active=False)
    console_client.post(public_url("console:unblock_user", person.pk))
    visitor = Client(HTTP_HOST="localhost")

    visitor.post(public_url("account_login"), {"login": "back@example.com", "password": "a-long-password-1"})

    person.refresh_from_db()
    assert person.is_active is True
    assert visitor.session["_auth_user_id"] == str(person.pk)


def test_manager_cannot_block_themselves(console_client, manager):
    response = console_client.post(public_url("console:block_user", manager.pk), follow=True)

    manager.refresh_from_db()
    assert manager.is_active is True
    assert [str(m) for m in response.context["messages"]] == ["Нельзя заблокировать самого себя."]
    assert response.wsgi_request.user == manager


def test_manager_cannot_block_a_superuser(console_client, user_factory):
    root = user_factory(email="root@example.com", is_superuser=True, is_staff=True)

    response = console_client.post(public_url("console:block_user", root.pk), follow=True)

    root.refresh_from_db()
    assert root.is_active is True
    assert [str(m) for m in response.context["messages"]] == ["Суперпользователя заблокировать нельзя."]


def test_blocking_an_unknown_user_gets_404(console_client):
    assert console_client.post(public_url("console:block_user", 987654321)).status_code == 404


def test_users_page_lists_and_searches_users(console_client, user_factory):
    user_factory(email="findme@search.example", full_name="Zed Findable")
    user_factory(email="other@search.example")

    response = console_client.get(public_url("console:users"), {"q": "findable"})

    assert [person.email for person in response.context["page"]] == ["findme@search.example"]


def test_blocked_user_shows_a_badge_and_an_unblock_button(console_client, user_factory):
    person = user_factory(email="badge@example.com", is_active=False)

    html = console_client.get(public_url("console:users"), {"q": "badge@"}).content.decode()

    assert 'data-testid="blocked-badge"' in html
    assert public_url("console:unblock_user", person.pk) in html


def test_end_sessions_of_leaves_other_users_sessions(user_factory):
    from django.test import Client

    victim, bystander = user_factory(email="v@example.com"), user_factory(email="b@example.com")
    for person in (victim, victim, bystander):
        Client(HTTP_HOST="localhost").force_login(person)

    ended = services.end_sessions_of(victim)

    assert ended == 2
    assert sessions_of(victim) == [] and len(sessions_of(bystander)) == 1


def test_block_user_service_without_a_manager(user_factory):
    person = user_factory(email="cmd@example.com")

    services.block_user(person)

    person.refresh_from_db()
    assert person.is_active is False

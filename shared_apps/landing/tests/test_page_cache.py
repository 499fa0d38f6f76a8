"""The public pages' cache: anonymous visitors share pages, nobody else's page and no other language."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_post
from shared_apps.blog.services import VISITOR_COOKIE
from shared_apps.landing import counters

from . import urls_page_cache

pytestmark = pytest.mark.django_db

NONCE_IN_HEADER = re.compile(r"'nonce-([^']+)'")
NONCE_IN_BODY = re.compile(r'nonce="([^"]+)"')
CSRF_IN_BODY = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    settings.PUBLIC_PAGE_FIGURES_SECONDS = 10
    settings.PUBLIC_SCHEMA_URLCONF = "shared_apps.landing.tests.urls_page_cache"
    urls_page_cache.renders.clear()


def visitor(**headers):
    return Client(HTTP_HOST="localhost", **headers)


def test_a_second_anonymous_visit_is_served_without_a_query(django_assert_num_queries):
    make_post("Spike")
    assert "Spike" in visitor().get("/blog/").content.decode()

    with django_assert_num_queries(0):
        response = visitor().get("/blog/")

    assert response.status_code == 200
    assert "Spike" in response.content.decode()


def test_a_signed_in_page_is_never_served_to_anyone_else(user_factory):
    user = user_factory(email="signed-in@example.com")
    signed_in = visitor()
    signed_in.force_login(user)

    assert "signed-in@example.com" in signed_in.get("/").content.decode()
    assert "signed-in@example.com" not in visitor().get("/").content.decode()
    # and the anonymous page now cached is not served to the signed-in user either
    assert "signed-in@example.com" in signed_in.get("/").content.decode()


def test_russian_and_english_pages_are_never_mixed():
    russian = visitor().get("/").content.decode()
    english = visitor(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    english_by_cookie = Client(HTTP_HOST="localhost")
    english_by_cookie.cookies["django_language"] = "en"

    assert '<html lang="ru">' in russian
    assert '<html lang="en">' in english
    assert '<html lang="en">' in english_by_cookie.get("/").content.decode()
    assert '<html lang="ru">' in visitor(HTTP_ACCEPT_LANGUAGE="ru").get("/").content.decode()
    assert '<html lang="ru">' in visitor().get("/").content.decode()


def test_saving_a_post_drops_the_cached_pages(django_capture_on_commit_callbacks):
    post = make_post("Before")
    visitor().get("/blog/")
    visitor().get(post.get_absolute_url())

    with django_capture_on_commit_callbacks(execute=True):
        post.title = "After"
        post.save()

    assert "After" in visitor().get("/blog/").content.decode()
    assert "After" in visitor().get(post.get_absolute_url()).content.decode()


def test_deleting_a_post_drops_the_cached_pages(django_capture_on_commit_callbacks):
    post = make_post("Going away")
    url = post.get_absolute_url()
    assert visitor().get(url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        post.delete()

    assert visitor().get(url).status_code == 404
    assert "Going away" not in visitor().get("/blog/").content.decode()


def test_a_scheduled_post_appears_on_the_cached_list_when_its_time_comes(time_machine):
    make_post("Later", published_at=timezone.now() + timedelta(seconds=30))
    assert "Later" not in visitor().get("/blog/").content.decode()

    time_machine.move_to(timezone.now() + timedelta(seconds=31))

    assert "Later" in visitor().get("/blog/").content.decode()


def test_an_unchanged_page_is_served_from_the_cache_past_the_figures_window(time_machine):
    visitor().get("/")
    time_machine.move_to(timezone.now() + timedelta(seconds=30))

    assert visitor().get("/").context is None  # no template rendered: served from the cache


def test_a_changed_figure_shows_once_the_figures_window_ends(
    workspace, time_machine, django_capture_on_commit_callbacks
):
    visitor().get("/")
    with schema_context(workspace.schema_name), django_capture_on_commit_callbacks(execute=True):
        counters.recipients_added(["new@example.com"])
    within_window = visitor().get("/")

    time_machine.move_to(timezone.now() + timedelta(seconds=11))

    assert within_window.context is None
    assert visitor().get("/").context["counts"]["unique_clients"] == 1


def test_a_cached_page_gets_a_fresh_nonce_matching_its_header():
    first = visitor().get("/test/scripted/")
    second = visitor().get("/test/scripted/")

    assert urls_page_cache.renders == ["/test/scripted/"]
    nonces = []
    for response in (first, second):
        header_nonce = NONCE_IN_HEADER.search(response["Content-Security-Policy"]).group(1)
        assert NONCE_IN_BODY.search(response.content.decode()).group(1) == header_nonce
        nonces.append(header_nonce)
    assert nonces[0] != nonces[1]


def test_a_cached_page_carries_the_visitors_own_csrf_token_and_cookie():
    visitor().get("/test/scripted/")
    reader = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)

    response = reader.get("/test/scripted/")
    token = CSRF_IN_BODY.search(response.content.decode()).group(1)
    switched = reader.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token})

    assert urls_page_cache.renders == ["/test/scripted/"]
    assert "csrftoken" in response.cookies
    assert switched.status_code == 302
    assert switched.cookies["django_language"].value == "en"


def test_a_response_that_sets_a_cookie_is_not_stored():
    visitor().get("/test/cookie/")
    visitor().get("/test/cookie/")

    assert urls_page_cache.renders == ["/test/cookie/", "/test/cookie/"]


def test_an_unknown_query_string_is_rendered_not_cached():
    visitor().get("/test/scripted/?utm_source=mail")
    visitor().get("/test/scripted/?utm_source=mail")

    assert urls_page_cache.renders == ["/test/scripted/", "/test/scripted/"]


def test_a_view_on_a_cached_post_page_is_still_counted():
    post = make_post()
    for _ in range(2):
        client = visitor()
        client.cookies[VISITOR_COOKIE] = uuid.uuid4().hex
        client.get(post.get_absolute_url())

    post.refresh_from_db()
    assert post.views == 2


def test_a_visitor_with_a_session_is_not_served_from_the_cache(user_factory):
    visitor().get("/test/scripted/")
    with_session = visitor()
    with_session.force_login(user_factory())

    with_session.get("/test/scripted/")

    assert urls_page_cache.renders == ["/test/scripted/", "/test/scripted/"]

"""View counting: once per visitor per post per day, exact under concurrent requests."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from shared_apps.blog.models import Post
from shared_apps.blog.services import VISITOR_COOKIE

from .conftest import run_in_thread

pytestmark = pytest.mark.django_db


def views_of(post):
    return Post.objects.values_list("views", flat=True).get(pk=post.pk)


def visitor_client(visitor=None):
    client = Client(HTTP_HOST="localhost")
    client.cookies[VISITOR_COOKIE] = visitor or uuid.uuid4().hex
    return client


def test_first_visit_counts_and_sets_a_visitor_cookie(public_client, post_factory):
    post = post_factory()

    response = public_client.get(post.get_absolute_url())

    assert views_of(post) == 1
    assert response.cookies[VISITOR_COOKIE]["httponly"]


def test_the_same_visitor_counts_once_a_day(post_factory):
    post = post_factory()
    client = visitor_client()

    for _ in range(3):
        client.get(post.get_absolute_url())

    assert views_of(post) == 1


def test_the_same_visitor_counts_again_the_next_day(post_factory, time_machine):
    post = post_factory()
    client = visitor_client()
    client.get(post.get_absolute_url())

    time_machine.move_to(timezone.now() + timedelta(days=1))
    client.get(post.get_absolute_url())

    assert views_of(post) == 2


def test_a_signed_in_user_counts_once_even_without_the_cookie(public_client, post_factory, user_factory):
    post = post_factory()
    public_client.force_login(user_factory())

    public_client.get(post.get_absolute_url())
    public_client.cookies.pop(VISITOR_COOKIE, None)
    public_client.get(post.get_absolute_url())

    assert views_of(post) == 1


def test_each_visitor_counts_for_each_post(post_factory):
    first, second = post_factory(), post_factory()
    alice, bob = visitor_client(), visitor_client()

    for client in (alice, bob):
        for post in (first, second):
            client.get(post.get_absolute_url())

    assert (views_of(first), views_of(second)) == (2, 2)


@pytest.fixture
def committed_post():
    """A post committed on another connection, visible to the request threads."""

    def create():
        return Post.objects.create(
            title=f"Concurrency {uuid.uuid4().hex[:8]}",
            body="Text",
            status=Post.Status.PUBLISHED,
            published_at=timezone.now() - timedelta(minutes=5),
        )

    post = run_in_thread(create)
    yield post
    run_in_thread(lambda: Post.objects.filter(pk=post.pk).delete())


def hit_concurrently(url, visitors, requests_per_visitor):
    """Every visitor sends its requests at once, all threads released together."""
    jobs = [visitor for visitor in visitors for _ in range(requests_per_visitor)]
    barrier = threading.Barrier(len(jobs))
    statuses, errors = [], []

    def request(visitor):
        try:
            client = visitor_client(visitor)
            barrier.wait()
            statuses.append(client.get(url).status_code)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(visitor,)) for visitor in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return statuses


def test_concurrent_requests_of_many_visitors_count_each_visitor_exactly_once(committed_post):
    visitors = [uuid.uuid4().hex for _ in range(12)]

    statuses = hit_concurrently(committed_post.get_absolute_url(), visitors, requests_per_visitor=3)

    assert statuses == [200] * 36
    assert run_in_thread(views_of, committed_post) == 12


def test_concurrent_distinct_visitors_never_lose_an_increment(committed_post):
    visitors = [uuid.uuid4().hex for _ in range(24)]

    hit_concurrently(committed_post.get_absolute_url(), visitors, requests_per_visitor=1)

    assert run_in_thread(views_of, committed_post) == 24

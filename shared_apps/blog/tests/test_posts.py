"""Posts: addresses, safe text, who sees what (list, detail, feed), titles and descriptions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.blog.models import Post
from shared_apps.blog.text import render_markdown

pytestmark = pytest.mark.django_db


def test_slug_is_made_from_a_russian_title_in_latin_letters(post_factory):
    post = post_factory(title="Как писать письма, которые читают")

    assert post.slug == "kak-pisat-pisma-kotorye-chitaiut"


def test_slug_of_a_title_without_letters_falls_back_to_post(post_factory):
    assert post_factory(title="!!! ???").slug == "post"


def test_two_posts_with_the_same_title_get_different_slugs(post_factory):
    first, second, third = (post_factory(title="Новости") for _ in range(3))

    assert [first.slug, second.slug, third.slug] == ["novosti", "novosti-2", "novosti-3"]


def test_a_post_cannot_take_the_address_of_a_blog_page(post_factory):
    assert post_factory(title="Manage").slug == "manage-2"
    assert post_factory(title="Feed").slug == "feed-2"


def test_markdown_is_rendered_and_scripts_are_removed():
    html = render_markdown(
        "# Title\n\n**bold** [link](https://example.com) <script>alert(1)</script>"
        '<a href="javascript:alert(2)" onclick="x()">bad</a>'
    )

    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com" rel="noopener nofollow">link</a>' in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onclick" not in html


def test_list_shows_only_published_posts_whose_date_has_come(public_client, post_factory):
    visible = post_factory(title="Visible post")
    post_factory(title="Draft post", status=Post.Status.DRAFT)
    post_factory(title="Scheduled post", published_at=timezone.now() + timedelta(days=1))

    response = public_client.get("/blog/")

    assert response.status_code == 200
    assert [post.pk for post in response.context["posts"]] == [visible.pk]
    assert b"Draft post" not in response.content
    assert b"Scheduled post" not in response.content


def test_list_is_paginated_newest_first(public_client, post_factory):
    now = timezone.now()
    posts = [post_factory(published_at=now - timedelta(hours=n + 1)) for n in range(11)]

    first = public_client.get("/blog/")
    second = public_client.get("/blog/?page=2")

    assert [p.pk for p in first.context["posts"]] == [p.pk for p in posts[:9]]
    assert [p.pk for p in second.context["posts"]] == [p.pk for p in posts[9:]]


def test_visitor_reads_a_published_post_with_its_title_and_description(public_client, post_factory):
    post = post_factory(
        title="Deliverability basics", summary="How to land in the inbox.", body="## Warm up\n\nSlowly."
    )

    response = public_client.get(f"/blog/{post.slug}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<title>Deliverability basics · Rassylka</title>" in content
    assert '<meta name="description" content="How to land in the inbox.">' in content
    assert "<h2>Warm up</h2>" in content


def test_description_falls_back_to_the_start_of_the_text(post_factory):
    post = post_factory(body="First *sentence* here.\n\nSecond paragraph. " + "word " * 100)

    assert post.meta_description.startswith("First sentence here. Second paragraph. word")
    assert len(post.meta_description) <= 160


@pytest.mark.parametrize("kind", ["draft", "scheduled"])
def test_hidden_post_is_404_for_a_visitor(public_client, post_factory, kind):
    if kind == "draft":
        post = post_factory(status=Post.Status.DRAFT)
    else:
        post = post_factory(published_at=timezone.now() + timedelta(hours=2))

    assert public_client.get(f"/blog/{post.slug}/").status_code == 404


def test_content_manager_previews_a_draft(public_client, post_factory, content_manager):
    post = post_factory(title="Work in progress", status=Post.Status.DRAFT)
    public_client.force_login(content_manager)

    response = public_client.get(f"/blog/{post.slug}/")

    assert response.status_code == 200
    assert b'data-testid="preview-notice"' in response.content


def test_scheduled_post_appears_once_its_date_has_come(public_client, post_factory, time_machine):
    post = post_factory(published_at=timezone.now() + timedelta(hours=2))
    assert public_client.get(f"/blog/{post.slug}/").status_code == 404

    time_machine.move_to(timezone.now() + timedelta(hours=3))

    assert public_client.get(f"/blog/{post.slug}/").status_code == 200


def test_atom_feed_lists_only_visible_posts(public_client, post_factory):
    post_factory(title="In the feed")
    post_factory(title="Draft not in the feed", status=Post.Status.DRAFT)
    post_factory(title="Future not in the feed", published_at=timezone.now() + timedelta(days=3))

    response = public_client.get("/blog/feed/")

    content = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "<title>In the feed</title>" in content
    assert "not in the feed" not in content


def test_blog_is_translated_into_english(public_client, post_factory):
    post_factory()

    russian = public_client.get("/blog/").content.decode()
    english = public_client.get("/blog/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<h1 class="h2 mb-0">Блог</h1>' in russian
    assert '<h1 class="h2 mb-0">Blog</h1>' in english

"""Journeys in a real browser: a visitor reads the blog; a content manager publishes a post.

The live server writes to the committed test database, so each journey
uses fresh names and removes what it created.
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from PIL import Image

from shared_apps.blog.access import CONTENT_MANAGERS_GROUP
from shared_apps.blog.models import Post

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def cleanup_posts():
    created = []
    yield created
    Post.objects.filter(slug__in=created).delete()


@pytest.fixture
def content_manager_account():
    from django.contrib.auth import get_user_model

    from shared_apps.accounts.services import mark_email_verified

    user = get_user_model().objects.create_user(email=f"writer-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD)
    mark_email_verified(user)
    user.groups.add(Group.objects.get(name=CONTENT_MANAGERS_GROUP))
    yield user
    user.delete()


def test_visitor_opens_the_home_page_and_reads_a_post(live_site, page, cleanup_posts):
    title = f"Как не попасть в спам {uuid.uuid4().hex[:6]}"
    post = Post.objects.create(
        title=title,
        body="## Прогрев\n\nНачинайте **понемногу**.",
        status=Post.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(minutes=1),
    )
    cleanup_posts.append(post.slug)

    page.goto(live_site.url("/"))
    assert page.get_by_role("heading", name="Как это работает").is_visible()
    assert page.get_by_test_id("count-mailings").is_visible()
    page.get_by_role("link", name=title).click()

    page.wait_for_url(live_site.url(post.get_absolute_url()))
    assert page.locator("h1").inner_text() == title
    assert page.locator(".post-body h2").inner_text() == "Прогрев"
    assert page.get_by_test_id("post-views").inner_text() == "0 просмотров", "a page shows the count before its view"
    page.reload()
    assert page.get_by_test_id("post-views").inner_text() == "1 просмотр", "counted once, not again on reload"
    assert page.title() == f"{title} · Rassylka"


def test_content_manager_signs_in_and_publishes_a_post_with_an_image(
    live_site, page, tmp_path, cleanup_posts, content_manager_account
):
    picture = tmp_path / "cover.png"
    Image.new("RGB", (1200, 800), (220, 80, 40)).save(picture)
    title = f"Новый отчёт по доставке {uuid.uuid4().hex[:6]}"

    page.goto(live_site.url("/accounts/login/"))
    page.fill("input[name=login]", content_manager_account.email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Войти").click()

    page.goto(live_site.url("/"))
    page.get_by_role("link", name="Управление постами").click()
    page.get_by_role("link", name="Новый пост").click()
    page.get_by_label("Заголовок").fill(title)
    page.get_by_label("Текст").fill("Теперь в отчёте **каждая попытка**.")
    page.set_input_files("input[name=image]", str(picture))
    page.select_option("select[name=status]", "published")
    with page.expect_navigation():
        page.get_by_role("button", name="Сохранить").click()

    assert page.get_by_text(f"Пост «{title}» сохранён.").is_visible()
    post = Post.objects.get(title=title)
    cleanup_posts.append(post.slug)
    assert post.is_visible and post.thumbnail

    page.goto(live_site.url("/"))
    card = page.get_by_test_id("post-card").filter(has_text=title)
    assert card.is_visible()
    assert post.thumbnail.url in card.locator("img").get_attribute("src")
    picture_box = card.locator("img").bounding_box()
    assert picture_box["height"] == pytest.approx(picture_box["width"] * 450 / 800, abs=2), "16:9, not stretched"

    page.goto(live_site.url("/blog/"))
    assert page.get_by_test_id("post-card").first.filter(has_text=title).count() == 1

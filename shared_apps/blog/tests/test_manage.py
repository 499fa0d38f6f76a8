"""Content managers write the blog on the site itself; nobody else may."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from shared_apps.blog.access import CONTENT_MANAGERS_GROUP
from shared_apps.blog.models import Post

from .conftest import png_upload

pytestmark = pytest.mark.django_db

MANAGE_URLS = ["/blog/manage/", "/blog/manage/new/"]


def post_data(**overrides):
    data = {
        "title": "Новая функция: расписание",
        "slug": "",
        "summary": "",
        "body": "Теперь **по расписанию**.",
        "status": "published",
        "published_at": "2026-01-05T10:00",
    }
    data.update(overrides)
    return data


def test_the_content_managers_group_has_the_post_permissions():
    group = Group.objects.get(name=CONTENT_MANAGERS_GROUP)

    assert set(group.permissions.values_list("codename", flat=True)) == {
        "add_post",
        "change_post",
        "delete_post",
        "view_post",
    }


@pytest.mark.parametrize("url", MANAGE_URLS)
def test_visitor_is_sent_to_sign_in(public_client, url):
    response = public_client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", MANAGE_URLS)
def test_signed_in_user_without_the_role_gets_403(public_client, user_factory, url):
    public_client.force_login(user_factory())

    assert public_client.get(url).status_code == 403


def test_user_without_the_role_cannot_create_edit_or_delete(public_client, user_factory, post_factory):
    post = post_factory(title="Untouched")
    public_client.force_login(user_factory())

    assert public_client.post("/blog/manage/new/", post_data()).status_code == 403
    assert public_client.post(f"/blog/manage/{post.pk}/edit/", post_data(title="Hacked")).status_code == 403
    assert public_client.post(f"/blog/manage/{post.pk}/delete/").status_code == 403
    assert list(Post.objects.values_list("title", flat=True)) == ["Untouched"]


def test_workspace_member_is_not_a_content_manager(public_client, member_factory, workspace):
    public_client.force_login(member_factory(workspace, "owner"))

    assert public_client.get("/blog/manage/new/").status_code == 403


def test_content_manager_creates_a_post_with_an_image(public_client, content_manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    public_client.force_login(content_manager)

    response = public_client.post("/blog/manage/new/", {**post_data(), "image": png_upload()})

    assert response.status_code == 302
    post = Post.objects.get()
    assert post.slug == "novaia-funktsiia-raspisanie"
    assert post.author == content_manager
    assert post.body_html == "<p>Теперь <strong>по расписанию</strong>.</p>"
    assert post.image and post.thumbnail
    assert public_client.get(post.get_absolute_url()).status_code == 200


def test_content_manager_gets_a_clear_error_for_a_non_image(public_client, content_manager):
    public_client.force_login(content_manager)
    fake = SimpleUploadedFile("photo.png", b"not an image at all", content_type="image/png")

    response = public_client.post("/blog/manage/new/", {**post_data(), "image": fake})

    assert response.status_code == 200
    assert response.context["form"].errors["image"]
    assert not Post.objects.exists()


def test_content_manager_cannot_take_a_blog_page_address(public_client, content_manager):
    public_client.force_login(content_manager)

    response = public_client.post("/blog/manage/new/", post_data(slug="feed"))

    assert response.status_code == 200
    assert "slug" in response.context["form"].errors


def test_content_manager_edits_a_post(public_client, content_manager, post_factory):
    post = post_factory(title="Old title")
    public_client.force_login(content_manager)

    response = public_client.post(
        f"/blog/manage/{post.pk}/edit/", post_data(title="New title", slug=post.slug, status="draft")
    )

    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.title, post.status) == ("New title", "draft")


def test_content_manager_deletes_a_post_and_its_image_files(
    public_client, content_manager, post_factory, django_capture_on_commit_callbacks
):
    post = post_factory(image=png_upload())
    files = [Path(post.image.path), Path(post.thumbnail.path)]
    assert all(path.exists() for path in files)
    public_client.force_login(content_manager)

    assert public_client.get(f"/blog/manage/{post.pk}/delete/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post(f"/blog/manage/{post.pk}/delete/")

    assert response.status_code == 302
    assert not Post.objects.filter(pk=post.pk).exists()
    assert not any(path.exists() for path in files)


def test_manage_list_shows_drafts_to_content_managers(public_client, content_manager, post_factory):
    post_factory(title="Hidden draft", status=Post.Status.DRAFT)
    public_client.force_login(content_manager)

    response = public_client.get("/blog/manage/")

    assert b"Hidden draft" in response.content


@pytest.mark.parametrize(
    ("path", "lit"),
    [("/blog/", "Блог"), ("/blog/manage/", "Управление постами"), ("/blog/manage/new/", "Управление постами")],
)
def test_the_navbar_lights_only_the_section_being_visited(public_client, content_manager, path, lit):
    public_client.force_login(content_manager)

    page = public_client.get(path).content.decode()

    assert re.findall(r'class="nav-link active"[^>]*>([^<]+)<', page) == [lit]

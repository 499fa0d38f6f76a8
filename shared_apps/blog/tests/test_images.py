"""Post images: only real images within the limits; a smaller copy is made for lists."""

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shared_apps.blog import images
from shared_apps.blog.forms import PostForm

from .conftest import png_upload

pytestmark = pytest.mark.django_db


def form_with_image(upload):
    data = {"title": "With image", "body": "Text", "status": "published", "published_at": "2026-01-01T10:00"}
    return PostForm(data, {"image": upload})


def test_a_text_file_named_png_is_rejected():
    form = form_with_image(SimpleUploadedFile("fake.png", b"this is not an image", content_type="image/png"))

    assert not form.is_valid()
    assert "image" in form.errors


def test_validator_rejects_a_non_image_with_a_clear_message():
    with pytest.raises(ValidationError) as caught:
        images.validate_blog_image(SimpleUploadedFile("notes.jpg", b"plain text, not pixels"))

    assert caught.value.code == "not_an_image"


def test_a_file_over_the_size_limit_is_rejected(monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1024)
    noisy = Image.effect_noise((200, 200), 100).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 1024

    with pytest.raises(ValidationError) as caught:
        images.validate_blog_image(SimpleUploadedFile("big.png", buffer.getvalue()))

    assert caught.value.code == "too_large"


def test_an_upload_over_five_megabytes_is_rejected_by_the_form():
    # Random pixels do not compress: a 1400×1400 PNG of noise is about 5.9 MB.
    noise = Image.merge("RGB", [Image.effect_noise((1400, 1400), 128) for _ in range(3)])
    buffer = io.BytesIO()
    noise.save(buffer, "PNG", compress_level=1)
    assert len(buffer.getvalue()) > 5 * 1024 * 1024

    form = form_with_image(SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png"))

    assert not form.is_valid()
    assert [error.code for error in form.errors.as_data()["image"]] == ["too_large"]


def test_an_image_wider_than_6000_pixels_is_rejected():
    buffer = io.BytesIO()
    Image.new("L", (6001, 10)).save(buffer, "PNG")

    with pytest.raises(ValidationError) as caught:
        images.validate_blog_image(SimpleUploadedFile("wide.png", buffer.getvalue()))

    assert caught.value.code == "too_many_pixels"


def test_a_valid_png_is_accepted_and_a_thumbnail_is_made(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    form = form_with_image(png_upload(size=(1600, 1200)))
    assert form.is_valid(), form.errors

    post = form.save()

    assert post.image.name.startswith("blog/")
    with Image.open(post.thumbnail.path) as thumb:
        assert thumb.size == images.THUMBNAIL_SIZE
        assert thumb.format == "JPEG"


def test_replacing_the_image_makes_a_new_thumbnail(settings, tmp_path, post_factory):
    post = post_factory(image=png_upload("first.png"))
    first_thumbnail = post.thumbnail.name

    post.image = png_upload("second.png")
    post.save()

    assert post.thumbnail.name != first_thumbnail
    assert "second" in post.thumbnail.name


def test_replaced_image_files_are_removed_after_commit(post_factory, django_capture_on_commit_callbacks):
    from shared_apps.blog.models import Post

    post = Post.objects.get(pk=post_factory(image=png_upload("old.png")).pk)
    old_files = [Path(post.image.path), Path(post.thumbnail.path)]

    with django_capture_on_commit_callbacks(execute=True):
        post.image = png_upload("new.png")
        post.save()

    assert not any(path.exists() for path in old_files)
    assert Path(post.image.path).exists() and Path(post.thumbnail.path).exists()


def test_removing_the_image_removes_the_thumbnail_too(post_factory, django_capture_on_commit_callbacks):
    from shared_apps.blog.models import Post

    post = Post.objects.get(pk=post_factory(image=png_upload()).pk)
    old_files = [Path(post.image.path), Path(post.thumbnail.path)]

    with django_capture_on_commit_callbacks(execute=True):
        post.image = None
        post.save()

    assert not post.thumbnail
    assert not any(path.exists() for path in old_files)


def test_saving_without_touching_the_image_keeps_the_thumbnail(post_factory):
    from shared_apps.blog.models import Post

    post = Post.objects.get(pk=post_factory(image=png_upload()).pk)
    thumbnail = post.thumbnail.name

    post.title = "Renamed"
    post.save()

    assert post.thumbnail.name == thumbnail

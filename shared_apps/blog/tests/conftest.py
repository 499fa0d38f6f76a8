import io
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image

from shared_apps.blog.access import CONTENT_MANAGERS_GROUP


def png_bytes(size=(64, 48), color=(30, 120, 200)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def png_upload(name="picture.png", size=(64, 48)):
    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


@pytest.fixture
def post_factory(db, settings, tmp_path):
    from shared_apps.blog.models import Post

    settings.MEDIA_ROOT = tmp_path / "media"
    counter = {"n": 0}

    def make(title=None, status=Post.Status.PUBLISHED, published_at=None, **fields):
        counter["n"] += 1
        return Post.objects.create(
            title=title or f"Post {counter['n']}",
            body=fields.pop("body", "Some **text** for the post."),
            status=status,
            published_at=published_at or timezone.now() - timedelta(hours=1),
            **fields,
        )

    return make


@pytest.fixture
def content_manager(user_factory):
    user = user_factory()
    user.groups.add(Group.objects.get(name=CONTENT_MANAGERS_GROUP))
    return user


def run_in_thread(function, *args):
    """Run `function` on its own connection, committed (the test's own transaction is not)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")

import io
import threading

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
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
    """saas.factories.make_post, with uploaded files kept in the test's own directory."""
    from saas.factories import make_post

    settings.MEDIA_ROOT = tmp_path / "media"
    return make_post


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

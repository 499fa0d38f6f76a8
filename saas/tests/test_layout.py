"""The shared page layout."""

import re

from django.contrib.staticfiles import finders


def test_pages_name_a_favicon_that_exists(public_client):
    page = public_client.get("/").content.decode()

    icon = re.search(r'<link rel="icon" href="/static/([^"]+)"', page)
    assert icon, "browsers otherwise ask for /favicon.ico and get a 404 on every page"
    assert finders.find(icon.group(1))

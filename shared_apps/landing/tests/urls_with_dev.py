"""The public URLconf as DEBUG mounts it (with /dev/), for the mail catcher's tests (they run with DEBUG off)."""

from django.urls import include, path

from saas.urls_public import handler404, handler500  # noqa: F401
from saas.urls_public import urlpatterns as public_urlpatterns

urlpatterns = [*public_urlpatterns, path("dev/", include("shared_apps.landing.dev_urls"))]

"""The public URLs plus a bare view (bench/public_pages.py only)."""

from django.http import HttpResponse
from django.urls import path

from saas.urls_public import handler404, handler500  # noqa: F401
from saas.urls_public import urlpatterns as public_urlpatterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *public_urlpatterns]

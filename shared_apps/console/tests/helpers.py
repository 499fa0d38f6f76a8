from django.conf import settings
from django.urls import reverse


def public_url(name, *args):
    """A path on the public site (the test process's default URLconf is the workspace one)."""
    return reverse(name, args=args, urlconf=settings.PUBLIC_SCHEMA_URLCONF)

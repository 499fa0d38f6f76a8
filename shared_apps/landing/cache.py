"""Cache keys of the public site that every schema must agree on."""

from contextlib import contextmanager

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context


@contextmanager
def public_cache_keys():
    """Make cache keys with the public schema's prefix.

    django_tenants.cache.make_key prefixes keys with connection.schema_name, so a
    mailing saved inside a workspace would otherwise touch "ws_acme:…", not the
    key the home page reads. Switching schema costs a `SET search_path` on the
    next query, so it is skipped when already public (every home page request).
    """
    if connection.schema_name == get_public_schema_name():
        yield
    else:
        with schema_context(get_public_schema_name()):
            yield

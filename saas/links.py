"""Absolute links, built from one setting: SITE_URL (scheme, public host, port).

Emails, the message preview, unsubscribe links, the sign-in hand-off, the
invitation link and the URLs `seed_demo` prints are all read by people away
from the request that made them (or behind a proxy that hides the port), so
none of them is built from the request: every one goes through `absolute_url`.
`make run` sets SITE_URL from the port it serves on.
"""

from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_site_url(value: str, base_domain: str) -> SplitResult:
    """SITE_URL split into its parts; a clear ImproperlyConfigured when it is not scheme://BASE_DOMAIN[:port]."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as exc:
        raise ImproperlyConfigured(f"SITE_URL={value!r}: the port is not a number.") from exc
    if parts.scheme not in DEFAULT_PORTS or parts.path not in ("", "/") or parts.query or parts.username:
        raise ImproperlyConfigured(f"SITE_URL={value!r}: write it as http(s)://{base_domain}[:port], nothing after.")
    if parts.hostname != base_domain:
        raise ImproperlyConfigured(f"SITE_URL={value!r}: its host must be BASE_DOMAIN ({base_domain}).")
    return parts


def site_url_from_parts(scheme: str, base_domain: str, port: str | int | None) -> str:
    """scheme://host[:port], leaving out the scheme's default port."""
    port = int(port) if port else DEFAULT_PORTS[scheme]
    suffix = "" if port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{base_domain}{suffix}"


def absolute_url(path: str = "/", *, host: str | None = None) -> str:
    """An absolute URL to `path` on `host` (default: the public site), with SITE_URL's scheme and port.

    A workspace host is given as `workspace.host` (`<slug>.<BASE_DOMAIN>`).
    """
    parts = parse_site_url(settings.SITE_URL, settings.BASE_DOMAIN)
    return site_url_from_parts(parts.scheme, host or settings.BASE_DOMAIN, parts.port) + path


def site_scheme() -> str:
    return urlsplit(settings.SITE_URL).scheme

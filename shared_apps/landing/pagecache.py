"""Whole public pages for anonymous visitors, served from the cache (issue 16, item 6).

`@public_page()` on a public view stores its 200 response, for a visitor
with neither a session nor pending messages, under host + language + path
(+ the query parameters the view names; any other query string is not
cached). Signed-in visitors always get a fresh render: they carry a session
cookie, and such a request neither reads nor writes the cache.

The language in the key is the one the page is rendered in: LocaleMiddleware
has activated it (cookie, then Accept-Language, then LANGUAGE_CODE) before
the view runs, and the decorator reads it there.

Freshness:
- a post saved or deleted drops every page at once (`pages_changed()`, after
  commit, bumps a generation number the entries carry);
- the figures (mailings, clients, post views) change all the time while
  mailings run, so `figures_changed()` only records when; a page rendered
  before the last change is served at most PUBLIC_PAGE_FIGURES_SECONDS after
  it was rendered;
- no page outlives PUBLIC_PAGE_CACHE_SECONDS, nor the next scheduled
  publication (`valid_until`), when a scheduled post must appear.

Per-visitor parts are rewritten on every serve, so a cached body is never
shared as is:
- CSP nonce: the body's nonce is replaced by this request's fresh one, which
  the CSP middleware sends in the header. A nonce reused across responses
  would let a script injected anywhere, once it read one cached page, run on
  every visitor's page: the nonce must stay unpredictable per response.
- CSRF token (the language switcher's form): replaced by this visitor's own
  token (`get_token`), so CsrfViewMiddleware sets this visitor's cookie as it
  would for an uncached page. The stored entry itself holds no cookie, and a
  response on which the view set a cookie is never stored.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from hashlib import blake2b
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone, translation

from .cache import public_cache_keys

GENERATION_KEY = "public-page:generation"
FIGURES_CHANGED_KEY = "public-page:figures-changed-at"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class CachedPage:
    generation: int
    rendered_at: float
    expires_at: float
    status: int
    headers: list[tuple[str, str]]
    content: bytes
    nonce: str
    csrf_tokens: tuple[str, ...]


def public_page(query_params: tuple[str, ...] = (), valid_until: Callable[[], datetime | None] | None = None):
    """Serve the view's page to anonymous visitors from the cache (see the module docstring).

    `query_params`: the query parameters the page depends on (others: not cached).
    `valid_until`: when the page must be rendered again whatever happens (a scheduled post).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            key = _page_key(request, query_params)
            if key is None:
                return view(request, *args, **kwargs)
            with public_cache_keys():
                found = cache.get_many([GENERATION_KEY, FIGURES_CHANGED_KEY, key])
            generation = found.get(GENERATION_KEY, 0)
            entry = found.get(key)
            if entry is not None and _is_fresh(entry, generation, found.get(FIGURES_CHANGED_KEY)):
                return _serve(request, entry)
            rendered_at = time.time()
            response = view(request, *args, **kwargs)
            if _may_store(request, response):
                _store(request, key, response, generation, rendered_at, valid_until)
            return response

        return wrapper

    return decorator


def pages_changed() -> None:
    """Something every public page may show changed (a post): drop them all after commit."""
    transaction.on_commit(_bump_generation)


def figures_changed() -> None:
    """A figure shown on public pages changed: pages rendered before now get re-rendered soon."""
    transaction.on_commit(_mark_figures_changed)


def _bump_generation() -> None:
    with public_cache_keys():
        cache.add(GENERATION_KEY, 0, None)
        cache.incr(GENERATION_KEY)


def _mark_figures_changed() -> None:
    with public_cache_keys():
        cache.set(FIGURES_CHANGED_KEY, time.time(), settings.PUBLIC_PAGE_CACHE_SECONDS)


def _page_key(request: HttpRequest, query_params: tuple[str, ...]) -> str | None:
    """The cache key of this request's page, or None when it must not be cached."""
    if settings.PUBLIC_PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
        return None
    # No session cookie: certainly anonymous, and known without a session lookup.
    if settings.SESSION_COOKIE_NAME in request.COOKIES or CookieStorage.cookie_name in request.COOKIES:
        return None
    if any(name not in query_params for name in request.GET):
        return None
    query = urlencode(sorted((name, request.GET[name]) for name in query_params if name in request.GET))
    where = blake2b(f"{request.path}?{query}".encode(), digest_size=16).hexdigest()
    return f"public-page:{request.get_host().lower()}:{translation.get_language()}:{where}"


def _is_fresh(entry: CachedPage, generation: int, figures_changed_at: float | None) -> bool:
    # Expired by our own clock too: a scheduled post must show on time, whatever the cache's clock says.
    if entry.generation != generation or time.time() >= entry.expires_at:
        return False
    if figures_changed_at is None or figures_changed_at < entry.rendered_at:
        return True
    return time.time() - entry.rendered_at < settings.PUBLIC_PAGE_FIGURES_SECONDS


def _may_store(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.user.is_authenticated
        and not request.session.modified
        and "private" not in response.get("Cache-Control", "")
    )


def _store(request, key, response, generation, rendered_at, valid_until) -> None:
    seconds = settings.PUBLIC_PAGE_CACHE_SECONDS
    until = valid_until() if valid_until else None
    if until is not None:
        seconds = min(seconds, int((until - timezone.now()).total_seconds()) + 1)
    if seconds <= 0:
        return
    entry = CachedPage(
        generation=generation,
        rendered_at=rendered_at,
        expires_at=time.time() + seconds,
        status=response.status_code,
        headers=list(response.items()),
        content=response.content,
        nonce=getattr(request, "csp_nonce", ""),
        csrf_tokens=tuple({token.decode() for token in CSRF_INPUT.findall(response.content)}),
    )
    with public_cache_keys():
        cache.set(key, entry, seconds)


def _serve(request: HttpRequest, entry: CachedPage) -> HttpResponse:
    content = entry.content
    nonce = getattr(request, "csp_nonce", "")
    if entry.nonce and nonce:
        content = content.replace(entry.nonce.encode(), nonce.encode())
    if entry.csrf_tokens:
        token = get_token(request).encode()
        for stale in entry.csrf_tokens:
            content = content.replace(stale.encode(), token)
    return HttpResponse(content, status=entry.status, headers=dict(entry.headers))

"""Whole public pages for anonymous visitors, served from the cache (issue 16, item 6).

Two halves:
- `@public_page()` on a public view marks its response as one every
  anonymous visitor may share (200, no cookie set by the view, no query
  parameter but those it names); its `per_request` hook runs on every
  response of the page, rendered or cached (the blog counts views there);
- `PublicPageCacheMiddleware`, placed right after the CSP middleware, serves
  a stored page before host routing, sessions and the rest of the stack
  run, and stores a marked response as the whole stack finished it
  (security headers, Vary, Content-Language), without its cookies.

Who gets a stored page: a GET or HEAD with neither a session cookie nor a
messages cookie, on the public site. A signed-in visitor always carries a
session cookie, so never reads nor writes the cache.

Key: scheme + host + language + path + query. The page is stored under the
language it was rendered in (its Content-Language, set by LocaleMiddleware)
and looked up under the language LocaleMiddleware would activate for the
request (cookie, then Accept-Language, then LANGUAGE_CODE: the same call).

Freshness:
- a post saved or deleted drops every page at once (`pages_changed()`, after
  commit, bumps a generation number the entries carry);
- the figures (mailings, clients, post views) change all the time while
  mailings run, so `figures_changed()` only records when; a page rendered
  before the last change is served at most PUBLIC_PAGE_FIGURES_SECONDS after
  it was rendered;
- no page outlives PUBLIC_PAGE_CACHE_SECONDS, nor the next scheduled
  publication (`valid_until`), when a scheduled post must appear.

Per-visitor parts are rewritten on every serve, so a stored body is never
shared as is:
- CSP nonce: the body's nonce is replaced by this request's fresh one, which
  the CSP middleware sends in the header. A nonce reused across responses
  would let a script injected anywhere, once it read one cached page, run on
  every visitor's page: the nonce must stay unpredictable per response.
- CSRF token (the language switcher's form): replaced by this visitor's own
  (Django's CsrfViewMiddleware reads their cookie, or makes a secret and sets
  the cookie), exactly as an uncached page would.
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
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils import timezone, translation

from .cache import public_cache_keys

GENERATION_KEY = "public-page:generation"
FIGURES_CHANGED_KEY = "public-page:figures-changed-at"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# Per-request headers: the policy carries this request's nonce, the length is recomputed.
UNSTORED_HEADERS = {"content-security-policy", "content-length"}


@dataclass(frozen=True)
class CachedPage:
    generation: int
    rendered_at: float
    expires_at: float
    status: int
    headers: dict[str, str]
    content: bytes
    nonce: str
    csrf_tokens: tuple[str, ...]
    per_request: "PerRequest | None"
    view_kwargs: dict


# Runs on every response of a page, cached or not: (request, response, **view kwargs). On a cached
# page the request has been through no other middleware: no request.user (the visitor is anonymous).
PerRequest = Callable[..., None]


@dataclass(frozen=True)
class Shareable:
    """What @public_page tells the middleware about a response every anonymous visitor may get."""

    valid_until: Callable[[], datetime | None] | None
    per_request: PerRequest | None
    view_kwargs: dict
    own_cookies: frozenset[str]  # set by per_request for this visitor only, never stored


def public_page(
    query_params: tuple[str, ...] = (),
    valid_until: Callable[[], datetime | None] | None = None,
    per_request: PerRequest | None = None,
):
    """Let anonymous visitors get this view's page from the cache (see the module docstring).

    `query_params`: the query parameters the page depends on (any other: not stored).
    `valid_until`: when the page must be rendered again whatever happens (a scheduled post).
    `per_request`: a module-level function (it is stored with the page) run on every response.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs):
            response = view(request, **kwargs)
            shareable = (
                response.status_code == 200
                and not response.streaming
                and not response.cookies
                and all(name in query_params for name in request.GET)
            )
            if per_request is not None:
                per_request(request, response, **kwargs)
            if shareable:
                response.shareable = Shareable(valid_until, per_request, kwargs, frozenset(response.cookies))
            return response

        return wrapper

    return decorator


class PublicPageCacheMiddleware:
    """Serves and stores the pages @public_page marks (after the CSP middleware: it needs the nonce)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest):
        key = _page_key(request, translation.get_language_from_request(request))
        if key is None:
            return self.get_response(request)
        with public_cache_keys():
            found = cache.get_many([GENERATION_KEY, FIGURES_CHANGED_KEY, key])
        generation = found.get(GENERATION_KEY, 0)
        entry = found.get(key)
        if entry is not None and _is_fresh(entry, generation, found.get(FIGURES_CHANGED_KEY)):
            return self._serve(request, entry)
        rendered_at = time.time()
        response = self.get_response(request)
        if _may_store(request, response):
            _store(request, response, generation, rendered_at)
        return response

    def _serve(self, request: HttpRequest, entry: CachedPage) -> HttpResponse:
        content = entry.content
        if entry.nonce:
            content = content.replace(entry.nonce.encode(), request.csp_nonce.encode())
        response = HttpResponse(status=entry.status, headers=entry.headers)
        if entry.csrf_tokens:
            self.csrf.process_request(request)
            token = get_token(request).encode()
            for stale in entry.csrf_tokens:
                content = content.replace(stale.encode(), token)
            self.csrf.process_response(request, response)
        response.content = content
        response["Content-Length"] = str(len(content))
        if entry.per_request is not None:
            with public_cache_keys():  # host routing has not run: the connection may be on a workspace's schema
                entry.per_request(request, response, **entry.view_kwargs)
        return response


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


def _page_key(request: HttpRequest, language: str) -> str | None:
    """The cache key of this request's page in `language`, or None when it must not be cached."""
    if settings.PUBLIC_PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
        return None
    # No session cookie: certainly anonymous, and known without a session lookup.
    if settings.SESSION_COOKIE_NAME in request.COOKIES or CookieStorage.cookie_name in request.COOKIES:
        return None
    try:
        host = request.get_host().lower()
    except DisallowedHost:
        return None  # the stack answers it
    query = urlencode(sorted(request.GET.items()))
    where = blake2b(f"{request.path}?{query}".encode(), digest_size=16).hexdigest()
    return f"public-page:{request.scheme}:{host}:{language}:{where}"


def _is_fresh(entry: CachedPage, generation: int, figures_changed_at: float | None) -> bool:
    # Expired by our own clock too: a scheduled post must show on time, whatever the cache's clock says.
    if entry.generation != generation or time.time() >= entry.expires_at:
        return False
    if figures_changed_at is None or figures_changed_at < entry.rendered_at:
        return True
    return time.time() - entry.rendered_at < settings.PUBLIC_PAGE_FIGURES_SECONDS


def _may_store(request: HttpRequest, response: HttpResponse) -> bool:
    tenant = getattr(request, "tenant", None)
    return (
        getattr(response, "shareable", None) is not None
        and tenant is not None
        and tenant.is_public  # a workspace page is for its members only
        and not request.user.is_authenticated
        and not request.session.modified
        # The CSRF token is rewritten per visitor; per_request's cookies are set again on every serve.
        and set(response.cookies) <= {settings.CSRF_COOKIE_NAME, *response.shareable.own_cookies}
        and "Content-Language" in response
    )


def _store(request: HttpRequest, response: HttpResponse, generation: int, rendered_at: float) -> None:
    seconds = settings.PUBLIC_PAGE_CACHE_SECONDS
    until = response.shareable.valid_until() if response.shareable.valid_until else None
    if until is not None:
        seconds = min(seconds, int((until - timezone.now()).total_seconds()) + 1)
    if seconds <= 0:
        return
    entry = CachedPage(
        generation=generation,
        rendered_at=rendered_at,
        expires_at=time.time() + seconds,
        status=response.status_code,
        headers={name: value for name, value in response.items() if name.lower() not in UNSTORED_HEADERS},
        content=response.content,
        nonce=request.csp_nonce,
        csrf_tokens=tuple({token.decode() for token in CSRF_INPUT.findall(response.content)}),
        per_request=response.shareable.per_request,
        view_kwargs=response.shareable.view_kwargs,
    )
    with public_cache_keys():
        cache.set(_page_key(request, response["Content-Language"]), entry, seconds)

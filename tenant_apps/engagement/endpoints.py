"""The open pixel (/o/<token>.gif) and the click redirect (/c/<token>) on workspace hosts.

They run as the first middleware, before the tenant lookup: no SQL on the
way (the host names the workspace, the token is checked with its key), one
Redis round trip (XADD, with HGET of the link's address when this process
has not seen the link yet), so they stay fast and keep answering while
PostgreSQL is down. What a hit keeps: the network, never the full address;
the user agent's family, never the string.
"""

import base64
import logging
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound, HttpResponseRedirect
from django.utils.translation import gettext as _

from . import stream
from .classify import classify_request
from .tokens import CLICK, OPEN, BadToken, signer_for

log = logging.getLogger(__name__)

# The smallest transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
MAX_TOKEN = 80
# Link addresses never change once a run made them: each process keeps those it has seen.
_link_cache: dict[tuple[str, int], str] = {}
LINK_CACHE_SIZE = 50_000


class Redirect(HttpResponseRedirect):
    # Only http(s) addresses are ever stored; this is belt and braces.
    allowed_schemes = ["http", "https"]


def workspace_slug(request) -> str | None:
    """The slug of a workspace host (<slug>.<BASE_DOMAIN>), None for any other host."""
    host = request.META.get("HTTP_HOST", "").rsplit(":", 1)[0].lower() if request.META.get("HTTP_HOST") else ""
    suffix = "." + settings.BASE_DOMAIN
    if not host.endswith(suffix):
        return None
    slug = host[: -len(suffix)]
    return slug if slug and "." not in slug else None


def client_ip(request) -> str:
    # nginx (deploy/) appends the visitor to X-Forwarded-For; trust it only from the local proxy.
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded and remote in settings.TRACKING_TRUSTED_PROXIES:
        return forwarded.rsplit(",", 1)[-1].strip()
    return remote


def hit_fields(request, slug, kind, delivery_id, number):
    """The stream entry: one field, tab-separated (one field parses several times faster than seven)."""
    network, family, reason = classify_request(
        client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:512], request.method
    )
    return {"h": stream.pack(slug, kind, delivery_id, number, network, family, reason)}


def no_store(response):
    response["Cache-Control"] = "no-store, private"
    return response


def bad_token():
    return no_store(
        HttpResponseBadRequest(_("This link is damaged or not valid here."), content_type="text/plain; charset=utf-8")
    )


def open_pixel(request, slug, token):
    if not token.endswith(".gif") or len(token) > MAX_TOKEN:
        return bad_token()
    try:
        delivery_id, _number = signer_for(slug).read(OPEN, token[:-4])
    except (BadToken, ValueError):
        return bad_token()
    try:
        stream.client().xadd(stream.stream_key(), hit_fields(request, slug, "o", delivery_id, 0))
    except redis.RedisError:
        log.warning("open not recorded: Redis unavailable", exc_info=True)
    return no_store(HttpResponse(PIXEL, content_type="image/gif"))


def lookup_link_in_database(slug, number):
    """The link's address from PostgreSQL: only when Redis lost its copy."""
    from django_tenants.utils import schema_context

    from tenants.models import Workspace

    from .models import Link

    workspace = Workspace.objects.filter(slug=slug, is_active=True).only("schema_name").first()
    if workspace is None:
        return None
    with schema_context(workspace.schema_name):
        url = Link.objects.filter(pk=number).values_list("url", flat=True).first()
    if url:
        stream.publish_links(slug, {number: url})
    return url


def click_redirect(request, slug, token):
    if len(token) > MAX_TOKEN:
        return bad_token()
    try:
        delivery_id, number = signer_for(slug).read(CLICK, token)
    except (BadToken, ValueError):
        return bad_token()
    if number == 0:
        return bad_token()
    url = _link_cache.get((slug, number))
    fields = hit_fields(request, slug, "c", delivery_id, number)
    try:
        if url is None:
            pipe = stream.client().pipeline(transaction=False)
            pipe.hget(stream.links_key(slug), str(number))
            pipe.xadd(stream.stream_key(), fields)
            found, _id = pipe.execute()
            url = found.decode() if found else None
        else:
            stream.client().xadd(stream.stream_key(), fields)
    except redis.RedisError:
        log.warning("click not recorded: Redis unavailable", exc_info=True)
    if url is None:
        url = lookup_link_in_database(slug, number)
    if url is None or urlsplit(url).scheme not in ("http", "https"):
        return no_store(HttpResponseNotFound(_("This link is not known."), content_type="text/plain; charset=utf-8"))
    if len(_link_cache) >= LINK_CACHE_SIZE:
        _link_cache.clear()
    _link_cache[(slug, number)] = url
    return no_store(Redirect(url))


class TrackingMiddleware:
    """Answers /o/ and /c/ on workspace hosts before anything touches the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(("/o/", "/c/")):
            slug = workspace_slug(request)
            if slug is not None and request.method in ("GET", "HEAD"):
                token = path[3:]
                return open_pixel(request, slug, token) if path[1] == "o" else click_redirect(request, slug, token)
        return self.get_response(request)

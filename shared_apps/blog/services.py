"""What the blog does: visible posts for the home page (cached), view counting, saving."""

import random
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.landing import pagecache
from shared_apps.landing.cache import public_cache_keys

from .models import Post

# The home page draws its random posts from this many latest visible posts.
HOME_POOL_SIZE = 30
HOME_POSTS_CACHE_KEY = "blog:home-pool"
HOME_POSTS_CACHE_SECONDS = 60 * 60
VISITOR_COOKIE = "rassylka_visitor"
VISITOR_COOKIE_MAX_AGE = 365 * 24 * 60 * 60
VIEW_MARK_SECONDS = 2 * 24 * 60 * 60


def _home_pool_from_db(now):
    posts = Post.objects.visible(now).only("title", "slug", "summary", "body_html", "thumbnail", "published_at")
    pool = [post.as_card() for post in posts[:HOME_POOL_SIZE]]
    # A post scheduled for later must appear when its time comes, not when the cache expires.
    next_publication = (
        Post.objects.filter(status=Post.Status.PUBLISHED, published_at__gt=now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    return pool, next_publication


def _cached_home_pool():
    """{"posts": the latest visible posts as plain dicts, "valid_until": the next scheduled publication}."""
    now = timezone.now()
    with public_cache_keys():
        cached = cache.get(HOME_POSTS_CACHE_KEY)
        # Expire by our own clock too: the next scheduled post must show on time.
        if cached is None or (cached["valid_until"] is not None and now >= cached["valid_until"]):
            posts, next_publication = _home_pool_from_db(now)
            cached = {"posts": posts, "valid_until": next_publication}
            timeout = HOME_POSTS_CACHE_SECONDS
            if next_publication is not None:
                timeout = max(1, min(timeout, int((next_publication - now).total_seconds()) + 1))
            cache.set(HOME_POSTS_CACHE_KEY, cached, timeout)
    return cached


def home_posts_pool():
    """The latest visible posts as plain dicts, cached in Redis under the public schema's key."""
    return _cached_home_pool()["posts"]


def next_publication():
    """When the next scheduled post becomes visible (None: none scheduled); pages listing posts expire then."""
    return _cached_home_pool()["valid_until"]


def random_home_posts(count=3):
    pool = home_posts_pool()
    return random.sample(pool, min(count, len(pool)))


def forget_home_posts():
    with public_cache_keys():
        cache.delete(HOME_POSTS_CACHE_KEY)


def posts_changed_after_commit():
    """A post was saved or deleted: the home pool and the cached public pages are dropped after commit."""
    transaction.on_commit(forget_home_posts)
    pagecache.pages_changed()


def visitor_id(request):
    """Who is looking: the signed-in user, else the visitor cookie (a new one if absent).

    A page from the page cache reaches no authentication: no request.user, an anonymous visitor.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{request.user.pk}", None
    existing = request.COOKIES.get(VISITOR_COOKIE, "")
    try:
        return f"anon-{uuid.UUID(existing).hex}", None
    except ValueError:
        new = uuid.uuid4().hex
        return f"anon-{new}", new


def count_visit(request, response, slug):
    """Count this visitor's view of the post `slug`; a new visitor gets their cookie on `response`.

    Run on every response of the post page, rendered or from the page cache
    (pagecache.public_page's per_request), so it counts by slug, costing no
    query unless the view is new. A rendered page shows the count before this view.
    """
    visitor, new_cookie = visitor_id(request)
    count_view(slug, visitor)
    if new_cookie:
        response.set_cookie(
            VISITOR_COOKIE,
            new_cookie,
            max_age=VISITOR_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )


def count_view(slug, visitor):
    """Add one view of the visible post `slug`, at most once per visitor per day; True when it counted.

    cache.add is Redis SET NX, so of many
    simultaneous requests by one visitor only one wins; the UPDATE … SET
    views = views + 1 never loses a concurrent increment.
    """
    today = timezone.localdate()
    key = f"blog:viewed:{slug}:{today.isoformat()}:{visitor}"
    if not cache.add(key, 1, VIEW_MARK_SECONDS):
        return False
    counted = Post.objects.visible().filter(slug=slug).update(views=F("views") + 1) == 1
    if counted:
        pagecache.figures_changed()
    return counted


def save_post(post, author=None):
    if post.pk is None and author is not None and author.is_authenticated:
        post.author = author
    post.save()
    return post


def delete_post(post):
    for field in (post.image, post.thumbnail):
        if field:
            name = field.name
            transaction.on_commit(lambda name=name, storage=field.storage: storage.delete(name))
    post.delete()

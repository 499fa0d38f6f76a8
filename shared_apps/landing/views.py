from django.shortcuts import render

from shared_apps.blog.services import next_publication, random_home_posts

from .pagecache import public_page
from .services import site_counts


@public_page(valid_until=next_publication)
def home(request):
    """The public landing page. Anyone may see it (anonymous visitors: from the page cache).

    A constant number of queries however many workspaces exist: the counts come
    from the public stats tables, the active count and the posts from Redis.
    """
    return render(request, "public/home.html", {"counts": site_counts(), "posts": random_home_posts(3)})

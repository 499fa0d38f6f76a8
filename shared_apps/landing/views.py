from django.shortcuts import render

from shared_apps.blog.services import random_home_posts

from .services import site_counts


def home(request):
    """The public landing page. Anyone may see it.

    A constant number of queries however many workspaces exist: the counts come
    from the public stats tables, the active count and the posts from Redis.
    """
    return render(request, "public/home.html", {"counts": site_counts(), "posts": random_home_posts(3)})

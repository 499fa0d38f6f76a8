from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shared_apps.landing.pagecache import public_page

from . import services
from .access import can_manage_posts, content_manager_only
from .forms import PostForm
from .models import Post

POSTS_PER_PAGE = 9


@public_page(query_params=("page",), valid_until=services.next_publication)
def post_list(request):
    """The blog: visible posts, newest first, paginated. Anyone may see it (anonymous: from the page cache)."""
    page = Paginator(Post.objects.visible().defer("body"), POSTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "public/blog/post_list.html", {"page_obj": page, "posts": page.object_list})


@public_page(per_request=services.count_visit)
def post_detail(request, slug):
    """One post. Anyone may see a visible post; content managers also preview drafts and scheduled ones.

    Anonymous visitors may get it from the page cache; the view is counted
    on every request either way (services.count_visit).
    """
    is_manager = can_manage_posts(request.user)
    posts = Post.objects.all() if is_manager else Post.objects.visible()
    post = get_object_or_404(posts, slug=slug)
    return render(request, "public/blog/post_detail.html", {"post": post, "can_manage": is_manager})


@content_manager_only
def manage_posts(request):
    """Every post with its status, for content managers only (others: 403, visitors: sign in)."""
    page = Paginator(Post.objects.defer("body", "body_html"), 25).get_page(request.GET.get("page"))
    return render(request, "public/blog/manage.html", {"page_obj": page, "posts": page.object_list})


@content_manager_only
@require_http_methods(["GET", "POST"])
def post_create(request):
    """A new post, for content managers only."""
    form = PostForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        post = services.save_post(form.instance, author=request.user)
        messages.success(request, _("The post “%(title)s” is saved.") % {"title": post.title})
        return redirect("blog:manage")
    return render(request, "public/blog/post_form.html", {"form": form, "post": None})


@content_manager_only
@require_http_methods(["GET", "POST"])
def post_edit(request, pk):
    """Edit a post, for content managers only."""
    post = get_object_or_404(Post, pk=pk)
    form = PostForm(request.POST or None, request.FILES or None, instance=post)
    if request.method == "POST" and form.is_valid():
        services.save_post(form.instance)
        messages.success(request, _("The post “%(title)s” is saved.") % {"title": post.title})
        return redirect("blog:manage")
    return render(request, "public/blog/post_form.html", {"form": form, "post": post})


@content_manager_only
@require_http_methods(["GET", "POST"])
def post_delete(request, pk):
    """Confirm and delete a post, for content managers only."""
    post = get_object_or_404(Post, pk=pk)
    if request.method == "POST":
        services.delete_post(post)
        messages.success(request, _("The post “%(title)s” is deleted.") % {"title": post.title})
        return redirect("blog:manage")
    return render(request, "public/blog/post_confirm_delete.html", {"post": post})

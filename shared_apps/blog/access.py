"""Who may write the blog: members of the "Content managers" group (and superusers)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

CONTENT_MANAGERS_GROUP = "Content managers"
POST_PERMS = ("blog.add_post", "blog.change_post", "blog.delete_post", "blog.view_post")


class SignInRequired(Exception):
    pass


def can_manage_posts(user):
    return user.is_authenticated and user.is_active and user.has_perms(POST_PERMS)


def require_content_manager(request):
    """Raise unless the user may create, edit and delete posts (anonymous: sign in first)."""
    if not request.user.is_authenticated:
        raise SignInRequired
    if not can_manage_posts(request.user):
        raise PermissionDenied


def content_manager_only(view):
    """Decorator: sign-in redirect for visitors, 403 for signed-in users without the rights."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            require_content_manager(request)
        except SignInRequired:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped

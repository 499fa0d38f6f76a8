from django import template

from ..access import can_use_console

register = template.Library()


@register.simple_tag(takes_context=True)
def console_access(context):
    """Whether the current user may open the managers' console (for the nav link)."""
    request = context.get("request")
    return request is not None and can_use_console(request.user)


@register.simple_tag(takes_context=True)
def console_is_manager(context):
    """Whether the current user is a full manager (the users page is theirs only)."""
    from tenants.access import is_manager

    request = context.get("request")
    return request is not None and request.user.is_authenticated and is_manager(request.user)

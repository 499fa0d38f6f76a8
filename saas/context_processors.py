from django.conf import settings


def site(request):
    workspace = getattr(request, "tenant", None)
    on_workspace = workspace is not None and not workspace.is_public
    return {
        "BASE_DOMAIN": settings.BASE_DOMAIN,
        "workspace": workspace if on_workspace else None,
        "workspace_role": getattr(request, "workspace_role", None),
        "mail_catcher_enabled": bool(settings.DEBUG and settings.MAIL_CATCHER_DIR),
    }

from django.urls import path

from . import views

app_name = "console"
urlpatterns = [
    path("", views.workspaces, name="workspaces"),
    path("workspaces/<slug:slug>/quotas/", views.workspace_quotas, name="workspace_quotas"),
    path("mailings/", views.mailings, name="mailings"),
    path(
        "mailings/<slug:slug>/<int:mailing_id>/disable/confirm/",
        views.confirm_disable_mailing,
        name="confirm_disable_mailing",
    ),
    path("mailings/<slug:slug>/<int:mailing_id>/disable/", views.disable_mailing, name="disable_mailing"),
    path("mailings/<slug:slug>/<int:mailing_id>/enable/", views.enable_mailing, name="enable_mailing"),
    path("clients/", views.clients, name="clients"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/block/confirm/", views.confirm_block_user, name="confirm_block_user"),
    path("users/<int:user_id>/block/", views.block_user, name="block_user"),
    path("users/<int:user_id>/unblock/", views.unblock_user, name="unblock_user"),
]

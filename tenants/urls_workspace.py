"""Workspace-host routes of the workspace itself (included at /workspace/)."""

from django.urls import path

from . import views_workspace as views

app_name = "workspace"
urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/invite/", views.invite_member, name="invite"),
    path("members/<int:user_id>/role/", views.change_role, name="change_role"),
    path("members/<int:user_id>/remove/", views.remove, name="remove"),
    path("invitations/<uuid:invitation_id>/revoke/", views.revoke, name="revoke"),
    path("settings/", views.workspace_settings, name="settings"),
    path("sign-out/", views.sign_out, name="sign_out"),
]

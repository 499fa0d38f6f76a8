"""Public-site pages of accounts and workspaces (included at the site root)."""

from django.urls import path

from tenants import views as workspace_views

from . import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    # Before Django's i18n URLs (same path and name): also saves the profile's language.
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("workspaces/", workspace_views.my_workspaces, name="workspaces"),
    path("workspaces/new/", workspace_views.new_workspace, name="new_workspace"),
    path("invitations/<str:token>/", workspace_views.invitation, name="invitation"),
]

from django.urls import path

from . import views
from .feeds import LatestPostsFeed

app_name = "blog"
urlpatterns = [
    path("", views.post_list, name="list"),
    path("feed/", LatestPostsFeed(), name="feed"),
    path("manage/", views.manage_posts, name="manage"),
    path("manage/new/", views.post_create, name="create"),
    path("manage/<int:pk>/edit/", views.post_edit, name="edit"),
    path("manage/<int:pk>/delete/", views.post_delete, name="delete"),
    path("<slug:slug>/", views.post_detail, name="detail"),
]

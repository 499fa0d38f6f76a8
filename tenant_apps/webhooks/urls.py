from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.add, name="add"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/test/", views.test, name="test"),
    path("<int:pk>/enable/", views.enable, name="enable"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]

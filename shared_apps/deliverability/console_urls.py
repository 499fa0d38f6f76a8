from django.urls import path

from . import console_views

app_name = "reputation"
urlpatterns = [
    path("", console_views.paused, name="paused"),
    path("<slug:slug>/release/", console_views.release, name="release"),
]

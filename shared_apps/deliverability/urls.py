from django.urls import path

from . import views

app_name = "hooks"
urlpatterns = [
    path("<slug:provider>/<str:token>/", views.provider_hook, name="provider"),
]

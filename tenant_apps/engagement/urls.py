from django.urls import path

from . import views

app_name = "engagement"
urlpatterns = [
    path("settings/", views.tracking_settings_page, name="settings"),
    path("clients/<int:pk>/", views.client_history, name="client_history"),
]

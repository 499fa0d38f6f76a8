from django.urls import path

from . import views

app_name = "feedback"
urlpatterns = [
    path("", views.suppression_list, name="suppressions"),
    path("<int:pk>/lift/", views.suppression_lift, name="lift"),
    path("settings/", views.feedback_settings, name="settings"),
]

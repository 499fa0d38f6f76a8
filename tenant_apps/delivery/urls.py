from django.urls import path

from . import views

app_name = "delivery"
urlpatterns = [
    path("", views.reports_index, name="reports"),
    path("mailings/<int:pk>/", views.mailing_report, name="mailing_report"),
]

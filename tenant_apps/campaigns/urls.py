from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("messages/", views.message_list, name="message_list"),
    path("messages/new/", views.message_create, name="message_create"),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
    path("messages/<int:pk>/edit/", views.message_edit, name="message_edit"),
    path("messages/<int:pk>/delete/", views.message_delete, name="message_delete"),
    path("messages/<int:pk>/test/", views.message_send_test, name="message_send_test"),
    path("mailings/", views.mailing_list, name="mailing_list"),
    path("mailings/new/", views.mailing_create, name="mailing_create"),
    path("mailings/recipients/", views.client_search, name="client_search"),
    path("mailings/<int:pk>/", views.mailing_detail, name="mailing_detail"),
    path("mailings/<int:pk>/edit/", views.mailing_edit, name="mailing_edit"),
    path("mailings/<int:pk>/delete/", views.mailing_delete, name="mailing_delete"),
    path("mailings/<int:pk>/pause/", views.mailing_pause, name="mailing_pause"),
    path("mailings/<int:pk>/resume/", views.mailing_resume, name="mailing_resume"),
]

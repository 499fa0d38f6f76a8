from django.urls import path

from . import dev_views

app_name = "dev"
urlpatterns = [
    path("mail/", dev_views.mailbox, name="mailbox"),
    path("mail/<str:name>/", dev_views.mail_message, name="mail_message"),
]

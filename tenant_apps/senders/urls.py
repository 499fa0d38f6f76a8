from django.urls import path

from . import views

app_name = "senders"
urlpatterns = [
    path("", views.index, name="index"),
    path("domains/new/", views.domain_add, name="domain_add"),
    path("domains/<int:pk>/", views.domain_detail, name="domain_detail"),
    path("domains/<int:pk>/verify/", views.domain_verify, name="domain_verify"),
    path("domains/<int:pk>/rotate/", views.domain_rotate, name="domain_rotate"),
    path("domains/<int:pk>/delete/", views.domain_delete, name="domain_delete"),
    path("providers/new/", views.provider_add, name="provider_add"),
    path("providers/<int:pk>/", views.provider_edit, name="provider_edit"),
    path("providers/<int:pk>/test/", views.provider_test, name="provider_test"),
    path("providers/<int:pk>/delete/", views.provider_delete, name="provider_delete"),
]

"""The API's URLs at their real place, for the schema generator."""

from django.urls import include, path

urlpatterns = [path("api/v1/", include("tenant_apps.api.urls_v1"))]

"""Workspace-host pages of the API (included at the root): keys, schema, documentation."""

from django.urls import path

from . import pages

app_name = "api"
urlpatterns = [
    path("workspace/api-keys/", pages.api_keys, name="keys"),
    path("workspace/api-keys/<int:pk>/revoke/", pages.revoke_api_key, name="revoke_key"),
    path("api/schema/", pages.schema, name="schema"),
    path("api/docs/", pages.docs, name="docs"),
    path("api/docs/redoc/", pages.redoc, name="redoc"),
]

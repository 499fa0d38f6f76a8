from django.conf import settings
from django.urls import include, path

from shared_apps.accounts.views import set_language
from tenant_apps.audience import public_views
from tenant_apps.delivery.views import unsubscribe
from tenants.views import redeem

urlpatterns = [
    path("", include("tenant_apps.campaigns.urls")),
    path("clients/", include("tenant_apps.audience.urls")),
    path("delivery/", include("tenant_apps.delivery.urls")),
    path("engagement/", include("tenant_apps.engagement.urls")),
    path("senders/", include("tenant_apps.senders.urls")),
    path("suppressions/", include("tenant_apps.feedback.urls")),
    path("webhooks/", include("tenant_apps.webhooks.urls")),
    path("i18n/setlang/", set_language, name="set_language"),  # also saves the profile's language
    path("i18n/", include("django.conf.urls.i18n")),
    path("handoff/", redeem, name="handoff"),
    path("u/<str:token>/", unsubscribe, name="unsubscribe"),
    path("p/<str:token>/", public_views.preferences, name="preferences"),
    path("f/confirm/<str:token>/", public_views.confirm, name="confirm_subscription"),
    path("f/<str:slug>/", public_views.subscribe, name="subscribe"),
    path("workspace/", include("tenants.urls_workspace")),
    path("api/v1/", include("tenant_apps.api.urls_v1")),
    path("", include("tenant_apps.api.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "saas.views.page_not_found"
handler500 = "saas.views.server_error"

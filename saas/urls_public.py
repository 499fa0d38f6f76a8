from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from tenants.views import open_workspace

urlpatterns = [
    path("", include("shared_apps.landing.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("shared_apps.accounts.urls")),
    path("blog/", include("shared_apps.blog.urls")),
    path("console/reputation/", include("shared_apps.deliverability.console_urls")),
    path("console/", include("shared_apps.console.urls")),
    path("hooks/", include("shared_apps.deliverability.urls")),
    path("open/<slug:slug>/", open_workspace, name="open_workspace"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += [path("dev/", include("shared_apps.landing.dev_urls"))]
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "saas.views.page_not_found"
handler500 = "saas.views.server_error"

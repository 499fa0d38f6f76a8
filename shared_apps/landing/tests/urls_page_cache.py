"""The public URLconf plus two cached pages that show what the real ones may not (yet) carry."""

from django.http import HttpResponse
from django.template import RequestContext, Template
from django.urls import path

from saas.urls_public import handler404, handler500  # noqa: F401
from saas.urls_public import urlpatterns as public_urlpatterns
from shared_apps.landing.pagecache import public_page

renders = []

PAGE = Template(
    '<script nonce="{{ request.csp_nonce }}" src="/static/js/rassylka.js"></script>'
    '<form method="post" action="/i18n/setlang/">{% csrf_token %}</form>'
)


@public_page()
def scripted_page(request):
    renders.append(request.path)
    return HttpResponse(PAGE.render(RequestContext(request)))


@public_page()
def cookie_page(request):
    renders.append(request.path)
    response = HttpResponse("a page that sets a cookie")
    response.set_cookie("seen", "1")
    return response


urlpatterns = [
    path("test/scripted/", scripted_page),
    path("test/cookie/", cookie_page),
    *public_urlpatterns,
]

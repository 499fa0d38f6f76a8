"""Settings for bench/tracking.py's gunicorn: the project's own, plus a bare "ok" at /ok.

The "ok" answer is a middleware placed first, so it is the least Django can
do for a request (the handler and one function): the yardstick the open
pixel and the click redirect, also answered by the first middleware, are
measured against.
"""

from saas.settings import *  # noqa: F403

MIDDLEWARE = ["bench.tracking_settings.BareOk", *MIDDLEWARE]  # noqa: F405


class BareOk:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponse

        if request.path_info == "/ok":
            return HttpResponse("ok", content_type="text/plain")
        return self.get_response(request)

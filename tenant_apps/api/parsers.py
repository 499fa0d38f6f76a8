from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "body_too_large"


class LimitedJSONParser(parsers.JSONParser):
    """JSON bodies up to API_MAX_BODY_BYTES, refused before they are read."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if length > settings.API_MAX_BODY_BYTES:
            raise BodyTooLarge(_("The body is larger than %(max)s bytes.") % {"max": settings.API_MAX_BODY_BYTES})
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise exceptions.ParseError(_("The body must be a JSON object."))
        return data

"""Every API error as RFC 9457 problem details (application/problem+json).

{"type", "title", "status", "detail"} always; validation errors add
"errors": {field: [messages]} (a row of a bulk request: "rows.<index>.<field>").
"""

from http import HTTPStatus

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_TYPE = "application/problem+json"


def problem(status_code: int, detail: str, **extra) -> dict:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": str(detail),
        **extra,
    }


def flatten(errors, prefix="") -> dict[str, list[str]]:
    """DRF's nested error structure as {"field" or "field.sub": [messages]}."""
    if isinstance(errors, dict):
        flat = {}
        for name, value in errors.items():
            flat.update(flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return flat
    if isinstance(errors, list) and errors and all(isinstance(item, str) for item in errors):
        return {prefix or "non_field_errors": [str(item) for item in errors]}
    if isinstance(errors, list):
        flat = {}
        for index, value in enumerate(errors):
            flat.update(flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(errors)]}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            status.HTTP_400_BAD_REQUEST, _("The request has invalid fields; see “errors”."), errors=flatten(exc.detail)
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data.get("detail", "")
        body = problem(response.status_code, detail if isinstance(detail, str) else str(detail))
    headers = {name: value for name, value in response.items() if name in ("WWW-Authenticate", "Retry-After", "Allow")}
    return Response(body, status=response.status_code, headers=headers, content_type=PROBLEM_TYPE)


def problem_response(status_code: int, detail: str) -> JsonResponse:
    """The same shape outside DRF (unknown /api/ URLs, server errors)."""
    return JsonResponse(problem(status_code, detail), status=status_code, content_type=PROBLEM_TYPE)

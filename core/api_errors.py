"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from core.errors import UNAVAILABLE_ERRORS, DomainError, RateLimited

logger = logging.getLogger(__name__)


# The paths whose errors are answered in JSON (the one error shape), whoever produced them.
_JSON_PREFIXES = ("/api/", "/twilio/")


def wants_json(request) -> bool:
    return request.path.startswith(_JSON_PREFIXES)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict:
    """Turn DRF's nested detail into {"field": ["message", ...]} (nested fields joined with dots)."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if key == "non_field_errors" and prefix:
                    walk(prefix, sub)  # a list-level error belongs to the list field itself
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        elif isinstance(value, list):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
        else:
            flat.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return flat


def _validation_code(detail) -> str:
    """`invalid`, or the first field's code when every refusal is one the schema allows (a serializer running a
    service's check, e.g. unknown_postcode, or `date_out_of_range` for a date-time DRF cannot take to UTC, a
    well-formed 0001-01-01T00:00+01:00): those have codes of their own (core.schema.SEMANTIC_ERROR_CODES)."""
    from core.schema import SEMANTIC_ERROR_CODES

    codes: dict = {}

    def walk(value) -> None:
        if isinstance(value, dict):
            for sub in value.values():
                walk(sub)
        elif isinstance(value, list):
            for sub in value:
                walk(sub)
        else:
            codes[getattr(value, "code", None)] = True

    walk(detail)
    named = ["date_out_of_range" if code == "overflow" else code for code in codes]
    if named and all(code in SEMANTIC_ERROR_CODES for code in named):
        return named[0]
    return "invalid"


UNAVAILABLE_MESSAGE = "The service is busy or restarting. Please try again in a moment."


def unavailable_json(exc: Exception) -> JsonResponse:
    """503 in the one error shape, with Retry-After: a part we depend on (PostgreSQL, the broker) is down."""
    logger.warning("503: a service is unavailable (%s: %s)", type(exc).__name__, exc)
    response = JsonResponse(error_body("unavailable", UNAVAILABLE_MESSAGE), status=503)
    response["Retry-After"] = str(settings.UNAVAILABLE_RETRY_AFTER)
    return response


def api_exception_handler(exc, context):
    if isinstance(exc, UNAVAILABLE_ERRORS):
        set_rollback()
        return unavailable_json(exc)
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(getattr(exc, "message_dict", None) or exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), ("", ["Invalid input."]))
        message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        response.data = error_body(_validation_code(exc.detail), message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(str(code), str(detail))
    return response


def json_error_view(status_code: int, code: str, message: str):
    def view(request, *args, **kwargs):
        return JsonResponse(error_body(code, message), status=status_code)

    return view


handler404 = json_error_view(status.HTTP_404_NOT_FOUND, "not_found", "Not found.")
handler500 = json_error_view(status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "Server error.")

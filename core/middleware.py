"""The edge of /api/ and /twilio/: refuse what would otherwise reach a view as a 500, and answer every error there
in the one JSON error shape, whoever produced it (Django's own 400, 404, 405, 413 and CSRF 403s included)."""

from http import HTTPStatus

from django.conf import settings
from django.http import JsonResponse

from core.api_errors import error_body, wants_json

_STATUS_CODES = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 413: "too_large",
                 415: "unsupported_media_type", 429: "rate_limited", 500: "server_error", 503: "unavailable"}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary", "Cache-Control")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _invalid(field: str, message: str, *, code: str = "invalid", status: int = 400) -> JsonResponse:
    return JsonResponse(error_body(code, f"{field}: {message}", {field: [message]}), status=status)


def _nul_in(query) -> str | None:
    """The first parameter of a QueryDict whose name or any value holds a NUL character."""
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\x00")
    return None


class ApiEdgeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not wants_json(request):
            return self.get_response(request)
        response = self._refused(request) or self.get_response(request)
        return self._as_json(response)

    def _refused(self, request) -> JsonResponse | None:
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return _invalid("Content-Length", "Not a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return JsonResponse(error_body("too_large", f"The request body is larger than {limit} bytes."), status=413)
        if "\x00" in request.path:
            return _invalid("path", "NUL characters are not allowed.", code="nul_character")
        name = _nul_in(request.GET)
        if name is not None:
            return _invalid(name, "NUL characters are not allowed.", code="nul_character")
        if request.method == "POST" and request.content_type in _FORM_TYPES and request.path.startswith("/twilio/"):
            name = _nul_in(request.POST)  # the webhooks read form fields straight into queries
            if name is not None:
                return _invalid(name, "NUL characters are not allowed.", code="nul_character")
        return None

    def _as_json(self, response):
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        code = _STATUS_CODES.get(status, "error")
        message = HTTPStatus(status).phrase + "." if status in HTTPStatus._value2member_map_ else "Error."
        replaced = JsonResponse(error_body(code, message), status=status)
        for header in _KEPT_HEADERS:
            if header in response:
                replaced[header] = response[header]
        return replaced



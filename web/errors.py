"""Error answers: JSON in the one error shape under /api/ and /twilio/, a plain page everywhere else."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.api_errors import error_body
from core.errors import RateLimited

_JSON_PREFIXES = ("/api/", "/twilio/")


def wants_json(request) -> bool:
    return request.path.startswith(_JSON_PREFIXES)


def _answer(request, status: int, code: str, message: str, *, title: str):
    if wants_json(request):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, "web/error.html", {"title": title, "message": message}, status=status)


def handler400(request, exception=None):
    return _answer(request, 400, "bad_request", _("Bad request."), title=_("Something was wrong with that request"))


def handler403(request, exception=None):
    return _answer(request, 403, "permission_denied", _("You may not see this page."), title=_("Not allowed"))


def handler404(request, exception=None):
    return _answer(request, 404, "not_found", _("Not found."), title=_("Page not found"))


def handler500(request):
    return _answer(request, 500, "server_error", _("Server error."), title=_("Something went wrong on our side"))


def rate_limited(request, exc: RateLimited):
    """429 for RateLimited raised outside DRF: the error page (or the JSON error body under /api/), with Retry-After."""
    if wants_json(request):
        response = JsonResponse(error_body(exc.code, exc.message, exc.fields), status=429)
    else:
        minutes = -(-exc.retry_after // 60)  # rounded up
        response = render(request, "web/error.html", {
            "title": _("Please wait a little"),
            "message": exc.message,
            "retry_after": exc.retry_after, "retry_after_minutes": minutes if exc.retry_after >= 120 else None,
        }, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: a locked-out login answers 429 like any other limit."""
    from core.auth import locked_out_error

    return rate_limited(request, locked_out_error())

"""Error answers: JSON in the one error shape under /api/ and /twilio/, a plain page everywhere else."""

import sys

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from core.api_errors import error_body, unavailable_json, wants_json
from core.errors import UNAVAILABLE_ERRORS, RateLimited


def _answer(request, status: int, code: str, message: str, *, title: str):
    if wants_json(request):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, "web/error.html", {"title": title, "message": message}, status=status)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _answer(request, 413, "too_large", _("The request is too large."), title=_("That was too much"))
    return _answer(request, 400, "bad_request", _("Bad request."), title=_("Something was wrong with that request"))


def handler403(request, exception=None):
    return _answer(request, 403, "permission_denied", _("You may not see this page."), title=_("Not allowed"))


def csrf_failure(request, reason=""):
    return _answer(request, 403, "csrf_failed", _("The form had expired or came from another site: try again."),
                   title=_("Not allowed"))


def handler404(request, exception=None):
    return _answer(request, 404, "not_found", _("Not found."), title=_("Page not found"))


def handler500(request):
    # Django calls this while handling the exception: one from a part being down, raised outside a view
    # (a middleware reading the session, say), is still a 503.
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return service_unavailable(request, exc)
    return _answer(request, 500, "server_error", _("Server error."), title=_("Something went wrong on our side"))


def service_unavailable(request, exc: Exception):
    """503 with Retry-After when PostgreSQL (or the broker) is unreachable: JSON under /api/ and /twilio/, else a
    plain page rendered without touching the database (no session, no user, no messages)."""
    if wants_json(request):
        return unavailable_json(exc)
    unavailable_json(exc)  # the same log line
    retry_after = settings.UNAVAILABLE_RETRY_AFTER
    if request.method == "POST" or request.path.rstrip("/").endswith("/book"):  # a booking form or any other change
        title = _("Bookings are paused for a moment")
        message = _("Frontroom cannot reach its database just now, so bookings and changes are paused: nothing was "
                    "booked or changed. The sessions pages still show, and may be a little out of date. Please try "
                    "again in a few minutes.")
    else:
        title = _("We are busy for a moment")
        message = _("Frontroom cannot reach its database just now. Nothing you did was wrong: please try again in a "
                    "moment.")
    try:
        body = render_to_string("web/error.html", {
            "title": title,
            "message": message,
            "retry_after": retry_after, "user": AnonymousUser(), "messages": [],
            "SITE_NAME": settings.SITE_NAME, "LANGUAGE_CODE": settings.LANGUAGE_CODE,
        })
    except Exception:  # noqa: BLE001 - the page must not fail in turn: a few words in plain text will do
        body = "Frontroom is busy for a moment. Please try again shortly."
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    return response


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

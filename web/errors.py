"""Error answers: JSON in the one error shape under /api/ and /twilio/, a plain page everywhere else."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.api_errors import error_body

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

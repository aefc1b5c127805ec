"""What the volunteers' pages share: the 429 and 404 answers, a booking by its link, a link scanner told apart."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.errors import NotFound, RateLimited
from volunteers.links import opened_automatically
from volunteers.models import Booking
from web.volunteer import identity


def rate_limited(request, exc: RateLimited) -> HttpResponse:
    response = render(request, "web/error.html", {
        "title": _("Please wait a little"), "message": _("Too many attempts from here in a short time."),
        "retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def not_found() -> Http404:
    return Http404(_("Not found."))


def booking_or_404(token: str) -> Booking:
    """The booking behind the link, as it stands: reading it proves nothing (only prove() and the details do)."""
    try:
        return identity.booking_by_link(manage_token=token)
    except NotFound:
        raise not_found() from None


def by_machine(request) -> bool:
    return opened_automatically(method=request.method, user_agent=request.headers.get("User-Agent"))

"""The private iCal feeds (volunteers.feeds): GET /feeds/host/<token>.ics and /feeds/volunteer/<token>.ics.

A wrong, reset or erased token is the site's ordinary 404, whatever the reason, so the answer says nothing about
which tokens exist; requests are counted per IP (RATE_LIMITS["feed_ip"])."""

from django.http import Http404, HttpResponse
from django.urls import re_path
from django.views.decorators.http import require_safe

from core.errors import NotFound
from core.ratelimit import limit_ip
from volunteers.feeds import calendar_feed_body, calendar_feed_by_token
from volunteers.models import CalendarFeed


@require_safe
@limit_ip("feed_ip", methods=("GET", "HEAD"))
def feed(request, kind: str, token: str):
    try:
        found = calendar_feed_by_token(kind=kind, token=token)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(calendar_feed_body(found), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="frontroom-{kind}.ics"'
    # The URL is the credential: no shared cache keeps a copy, and no referrer carries it on.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


KINDS = "|".join(CalendarFeed.Kind.values)
urlpatterns = [
    re_path(rf"^feeds/(?P<kind>{KINDS})/(?P<token>[A-Za-z0-9_-]{{20,64}})\.ics$", feed, name="calendar-feed"),
]

"""Links that hand a session to another app (docs/pages-volunteers.md, docs/calendars.md): share it (WhatsApp, SMS,
email), put a slot in a calendar (Google, Outlook), subscribe to a feed (webcal), find the front room on a map.

Plain URLs the person follows: no page loads anything from those hosts, and none of them ever carries a private
link (/b/<token>): what is shared is the session's public page. Everything is percent-encoded with %20 for a
space (RFC 3986 and RFC 6068), which every one of these apps reads; "+" would reach a mail or SMS body as "+".
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
OUTLOOK_CALENDAR = "https://outlook.live.com/calendar/0/deeplink/compose"
GOOGLE_MAPS = "https://www.google.com/maps/search/"


def _encode(params: dict[str, str]) -> str:
    return urlencode(params, quote_via=quote, safe="")


def _q(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True)
class ShareLinks:
    url: str  # the session's public page
    text: str  # the message, ending with the URL
    whatsapp: str
    sms: str
    email: str


def session_title(session) -> str:
    """"Crookes Saturday doors, Sheffield Hallam"; just the title when it already names the seat (a host's
    "Sheffield Hallam doorknock" would otherwise say the seat twice)."""
    if session.seat.name.casefold() in session.title.casefold():
        return session.title
    return _("%(title)s, %(seat)s") % {"title": session.title, "seat": session.seat.name}


def session_day(session) -> str:
    """"Thursday 10 December, 10:00-14:00" in local time, or "Thu 10 Dec, 18:00 to Fri 11 Dec, 01:00"."""
    start, end = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    if start.date() != end.date():
        return _("%(start)s to %(end)s") % {"start": dateformat.format(start, "D j M, H:i"),
                                            "end": dateformat.format(end, "D j M, H:i")}
    return _("%(day)s, %(start)s-%(end)s") % {
        "day": dateformat.format(start, "l j F"), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def share_links(*, session, url: str) -> ShareLinks:
    """The public page's share links. ``url`` is the public page (/s/<id>/), never a private link."""
    text = _("Come canvassing with me: %(title)s (%(district)s area), %(day)s. Book a place, no account "
             "needed: %(url)s") % {"title": session_title(session), "district": session.postcode_district,
                                   "day": session_day(session), "url": url}
    subject = _("Canvassing: %(title)s") % {"title": session_title(session)}
    return ShareLinks(
        url=url, text=text,
        whatsapp=f"https://wa.me/?text={_q(text)}",
        # "?&body=": iOS reads the body after "&", Android after "?"; both ignore the empty part.
        sms=f"sms:?&body={_q(text)}",
        email=f"mailto:?subject={_q(subject)}&body={_q(text)}",
    )


@dataclass(frozen=True)
class CalendarLinks:
    google: str
    outlook: str


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def calendar_links(*, title: str, starts_at: datetime, ends_at: datetime, details: str,
                   location: str) -> CalendarLinks:
    """"Add to Google Calendar" and "Add to Outlook" for one event, times in UTC (each app shows them in the
    person's own zone). The caller decides what ``location`` may say: the address only where the page shows it."""
    start, end = _utc(starts_at), _utc(ends_at)
    google = _encode({"action": "TEMPLATE", "text": title,
                      "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
                      "details": details, "location": location})
    outlook = _encode({"path": "/calendar/action/compose", "rru": "addevent", "subject": title,
                       "startdt": f"{start:%Y-%m-%dT%H:%M:%SZ}", "enddt": f"{end:%Y-%m-%dT%H:%M:%SZ}",
                       "body": details, "location": location})
    return CalendarLinks(google=f"{GOOGLE_CALENDAR}?{google}", outlook=f"{OUTLOOK_CALENDAR}?{outlook}")


@dataclass(frozen=True)
class FeedLinks:
    webcal: str  # Apple Calendar, Outlook and most desktop apps subscribe on following it
    google: str  # Android has no webcal handler: Google Calendar's "add by URL", which then syncs to the phone


def feed_links(feed_url: str) -> FeedLinks:
    """Subscribe links for a private calendar feed (https://.../feeds/volunteer/<token>.ics)."""
    webcal = "webcal://" + feed_url.split("://", 1)[-1]
    return FeedLinks(webcal=webcal, google=f"{GOOGLE_CALENDAR}?{_encode({'cid': webcal})}")


def maps_link(*, address: str, postcode: str) -> str:
    """Google Maps' search URL for an address: it opens the Maps app on Android and iOS (where installed) and the
    web map anywhere else; a geo: URI does nothing on an iPhone or a desktop."""
    query = ", ".join([line.strip() for line in address.splitlines() if line.strip()] + [postcode])
    return f"{GOOGLE_MAPS}?{_encode({'api': '1', 'query': query})}"

"""Bookings as iCalendar (RFC 5545, with iTIP methods of RFC 5546), built with the icalendar library.

One place builds every calendar object Frontroom hands out: the volunteer's download from /b/<token>, the file
attached to confirmation, change and cancellation emails (dispatch), and the private feeds (web). A booking is one
VEVENT whose UID never changes (``booking-<id>@<domain>``), so a calendar that receives it again updates the event
it has; SEQUENCE is the booking's version, which every status change, reschedule and venue move bumps, so the
newer copy wins. A cancelled booking keeps its UID and comes with STATUS:CANCELLED (and METHOD:CANCEL when sent
as an invitation), which is what makes calendar apps remove it.
"""

import functools
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from volunteers.disclosure import FrontRoomShown, front_room_disclose
from volunteers.links import manage_url
from volunteers.models import Booking

PRODID = "-//Frontroom//Canvass sessions//EN"
# PUBLISH: a file to import or a feed to subscribe to. REQUEST / CANCEL: an invitation (an email attachment).
METHODS = ("PUBLISH", "REQUEST", "CANCEL")
# Bookings that no longer hold (or wait for) a place: their event is a cancelled one.
GONE_STATUSES = (Booking.Status.CANCELLED, Booking.Status.REDIRECTED)
TENTATIVE_STATUSES = (Booking.Status.PENDING, Booking.Status.WAITLISTED)
# What booking_event reads: one query with select_related, none per event.
BOOKING_RELATED = ("slot__session__meeting_point", "slot__session__seat", "volunteer")


def calendar_domain() -> str:
    """The right-hand side of every UID: FRONTROOM_DOMAIN, else PUBLIC_BASE_URL's host. Keep it stable: a new
    domain makes calendars see new events."""
    return settings.FRONTROOM_DOMAIN or urlsplit(settings.PUBLIC_BASE_URL).hostname or "frontroom"


def booking_uid(booking_id: int) -> str:
    return f"booking-{booking_id}@{calendar_domain()}"


def booking_is_gone(booking: Booking) -> bool:
    """Cancelled by the volunteer, moved elsewhere by overflow, or the host cancelled the session."""
    return (booking.status in GONE_STATUSES
            or booking.slot.session.status == booking.slot.session.Status.CANCELLED)


def calendar_new(*, method: str = "PUBLISH", name: str | None = None) -> Calendar:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    return cal


def _organizer(address: str) -> vCalAddress:
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText("Frontroom")
    return organizer


def _organizer_address() -> str:
    # The address emails come from (DEFAULT_FROM_EMAIL), so a reply-capable app points at a real sender.
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or f"noreply@{calendar_domain()}"


def _event_properties(booking: Booking, *, now: datetime, room: FrontRoomShown | None, path: str,
                      invitation: bool, cancelled: bool | None,
                      known_rooms: frozenset[int] | None = None) -> tuple[tuple, list]:
    """The booking's VEVENT as (name, value) pairs in two parts: what follows from the slot and whether the
    address is shown (the same for every booking on the slot), and the booking's own properties. The address
    only as volunteers.disclosure allows it (`room`, or asked here for `path`)."""
    slot = booking.slot
    session = slot.session
    gone = booking_is_gone(booking) if cancelled is None else cancelled
    if room is None and not gone:
        room = front_room_disclose(booking=booking, path=path, now=now, known_rooms=known_rooms)
    if room is not None and room.shown and not gone:
        location = room.one_line
    elif room is not None and room.held and not gone:
        location = (_("%(district)s (an organiser will check and send the address)")
                    % {"district": session.postcode_district})
    else:
        location = (_("%(district)s (the address comes once your place is confirmed)")
                    % {"district": session.postcode_district})
    shared = (("dtstart", slot.starts_at), ("dtend", slot.ends_at),
              ("summary", _("Canvassing: %(title)s") % {"title": session.title}), ("location", location))
    link = manage_url(booking.manage_token)
    lines = []
    if gone:
        lines.append(_("This booking is cancelled."))
    elif booking.status in TENTATIVE_STATUSES:
        lines.append(_("Not confirmed yet: you are waiting for a place."))
    lines.append(_("Seat: %(seat)s") % {"seat": session.seat.name})
    if session.what_to_bring and not gone:
        lines.append(_("Bring: %(what)s") % {"what": session.what_to_bring})
    lines.append(_("Your booking: %(url)s") % {"url": link})
    own = [
        ("uid", booking_uid(booking.pk)), ("dtstamp", now), ("sequence", booking.version),
        ("last-modified", booking.updated_at or now), ("description", "\n".join(lines)), ("url", link),
        ("status", "CANCELLED" if gone else "TENTATIVE" if booking.status in TENTATIVE_STATUSES else "CONFIRMED"),
        ("transp", "TRANSPARENT" if gone else "OPAQUE"),
    ]
    if invitation:
        email = booking.volunteer.email
        if email and booking.volunteer.anonymised_at is None:
            attendee = vCalAddress(f"mailto:{email}")
            attendee.params["cn"] = vText(booking.volunteer.name)
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            attendee.params["partstat"] = vText("DECLINED" if gone else "ACCEPTED")
            attendee.params["rsvp"] = vText("FALSE")
            own.append(("attendee", attendee))
    return shared, own


def _event(properties) -> Event:
    event = Event()
    for name, value in properties:
        event.add(name, value)
    return event


def booking_event(booking: Booking, *, now: datetime | None = None, room: FrontRoomShown | None = None,
                  path: str = "feed.volunteer", invitation: bool = False, cancelled: bool | None = None,
                  known_rooms: frozenset[int] | None = None) -> Event:
    """The booking's VEVENT. LOCATION is the exact address only when volunteers.disclosure.front_room_disclose
    allows it (a proven place, approved if the host asks, within the phone's allowance), else the postcode
    district. The private link is the URL and ends the DESCRIPTION. ``invitation`` adds ORGANIZER and ATTENDEE,
    which iTIP requires; ``cancelled`` True forces the cancelled form (None: from the booking)."""
    shared, own = _event_properties(booking, now=now or timezone.now(), room=room, path=path,
                                    invitation=invitation, cancelled=cancelled, known_rooms=known_rooms)
    event = _event(shared + tuple(own))
    if invitation:
        event.add("organizer", _organizer(_organizer_address()))
    return event


_EVENT_END = b"END:VEVENT\r\n"
_CALENDAR_END = b"END:VCALENDAR\r\n"


@functools.lru_cache(maxsize=512)
def _calendar_head(method: str, shared: tuple, organizer: str | None) -> bytes:
    """The serialised calendar up to the booking's own properties: the VCALENDAR's lines and the start of its
    VEVENT with the slot's properties. The same for every booking on a slot, so built once per value."""
    cal = calendar_new(method=method)
    event = _event(shared)
    if organizer:
        event.add("organizer", _organizer(organizer))
    cal.add_component(event)
    text = cal.to_ical()
    assert text.endswith(_EVENT_END + _CALENDAR_END)
    return text.removesuffix(_EVENT_END + _CALENDAR_END)


def booking_calendar(booking: Booking, *, method: str | None = None, now: datetime | None = None,
                     room: FrontRoomShown | None = None, path: str = "ics") -> bytes:
    """The booking as one VCALENDAR, bytes ready to attach or serve as text/calendar.

    ``method`` None picks the invitation method from the booking: REQUEST while it holds or waits for a place,
    CANCEL once it is gone (same UID, higher SEQUENCE). "PUBLISH" is for a file to import (the /b/ download).
    Pure: reads the booking (load it with BOOKING_RELATED), writes nothing.

    Every line comes from the icalendar library. The lines that follow from the slot are serialised once for each
    set of their values (``_calendar_head``) and only the booking's own lines per call: the emails to everyone
    on a slot spent a third of their calendar time folding the same lines again."""
    if method is None:
        method = "CANCEL" if booking_is_gone(booking) else "REQUEST"
    invitation = method in ("REQUEST", "CANCEL")
    shared, own = _event_properties(booking, now=now or timezone.now(), room=room, path=path, invitation=invitation,
                                    cancelled=True if method == "CANCEL" else None)
    event = _event(own).to_ical()
    begin = b"BEGIN:VEVENT\r\n"
    assert event.startswith(begin) and event.endswith(_EVENT_END)
    head = _calendar_head(method, shared, _organizer_address() if invitation else None)
    return head + event.removeprefix(begin) + _CALENDAR_END

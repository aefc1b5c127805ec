"""A booking as an iCalendar file (RFC 5545), built with the icalendar library."""

from datetime import datetime

from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from volunteers.models import Booking


def booking_ics(*, booking: Booking, shows_address: bool, host: str, manage_url: str, now: datetime) -> bytes:
    """One VEVENT for the booking's slot. The UID is the booking's own, so a calendar that imports the file again
    updates the event instead of adding one; SEQUENCE follows the booking's version. The front room's address
    is the LOCATION only when the volunteer may see it; otherwise the postcode district."""
    slot = booking.slot
    session = slot.session
    cal = Calendar()
    cal.add("prodid", "-//Frontroom//Canvass sessions//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"booking-{booking.pk}@{host}")
    event.add("dtstamp", now)
    event.add("sequence", booking.version)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", _("Canvassing: %(title)s") % {"title": session.title})
    if shows_address:
        point = session.meeting_point
        event.add("location", f"{' '.join(point.address.split())}, {point.postcode}")
    else:
        event.add("location", _("%(district)s (the address comes once your place is confirmed)")
                  % {"district": session.postcode_district})
    lines = [_("Seat: %(seat)s") % {"seat": session.seat.name}]
    if session.what_to_bring:
        lines.append(_("Bring: %(what)s") % {"what": session.what_to_bring})
    lines.append(_("Your booking: %(url)s") % {"url": manage_url})
    event.add("description", "\n".join(lines))
    event.add("url", manage_url)
    cancelled = booking.status in (Booking.Status.CANCELLED, Booking.Status.REDIRECTED)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()

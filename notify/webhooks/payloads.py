"""The JSON each delivery carries: a booking event as an OSDI attendance (person, event, status).

Rendered once per delivery, at its first attempt, from the event and the booking as they are then; the event's
type and the attendance's status come from the event itself, so a late delivery still says what happened.
The meeting point's address never leaves (it is a host's home): the event's location is its postcode district.
"""

import json
from datetime import UTC, datetime

from django.conf import settings

from notify.webhooks.models import EVENT_TYPES, PROVEN_TYPE, proven_webhook_id_for, webhook_id_for
from volunteers.models import Booking, BookingEvent

ORIGIN_SYSTEM = "Frontroom"
Kind = BookingEvent.Kind

# OSDI attendance status by event kind; None: the booking's status says (a move or reschedule of a place
# held or waited for).
_STATUS_BY_KIND = {
    Kind.CONFIRMED: "accepted", Kind.PROMOTED: "accepted", Kind.APPROVED: "accepted",
    Kind.ATTENDANCE_CONFIRMED: "accepted", Kind.ATTENDED: "accepted", Kind.NO_SHOW: "accepted",
    Kind.WAITLISTED: "tentative",
    Kind.CANCELLED: "declined", Kind.SESSION_CANCELLED: "declined", Kind.REDIRECTED: "declined",
    Kind.RELEASED: "declined", Kind.REFUSED: "declined",
    Kind.VENUE_MOVED: None, Kind.SLOT_RESCHEDULED: None,
}
_STATUS_BY_BOOKING = {
    Booking.Status.CONFIRMED: "accepted", Booking.Status.PENDING: "needs action",
    Booking.Status.WAITLISTED: "tentative", Booking.Status.ATTENDED: "accepted", Booking.Status.NO_SHOW: "accepted",
    Booking.Status.CANCELLED: "declined", Booking.Status.REDIRECTED: "declined",
}
EVENT_RELATED = ("booking__volunteer", "booking__slot__session__seat", "booking__redirected_to__slot__session")
BOOKING_RELATED = ("volunteer", "slot__session__seat")


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _id(kind: str, pk) -> str:
    return f"frontroom:{kind}-{pk}"


def _person(volunteer, *, personal: bool) -> dict:
    person = {"identifiers": [_id("volunteer", volunteer.pk)]}
    if not personal or volunteer.anonymised_at is not None:
        return person
    given, _, family = (volunteer.name or "").strip().partition(" ")
    person["given_name"] = given
    if family.strip():
        person["family_name"] = family.strip()
    person["email_addresses"] = [{"address": volunteer.email, "primary": True}] if volunteer.email else []
    person["phone_numbers"] = [{"number": volunteer.phone, "primary": True, "number_type": "Mobile",
                                "sms_capable": not (volunteer.sms_opted_out or volunteer.phone_invalid)}]
    person["postal_addresses"] = [{"postal_code": volunteer.postcode, "country": "GB", "primary": True}]
    return person


def _session(slot) -> dict:
    session = slot.session
    seat = session.seat
    return {
        "identifiers": [_id("session", session.pk), _id("slot", slot.pk)],
        "title": session.title,
        "start_date": _time(slot.starts_at),
        "end_date": _time(slot.ends_at),
        "status": "cancelled" if session.status == session.Status.CANCELLED else "confirmed",
        "location": {"postal_code": session.postcode_district, "country": "GB"},
        "frontroom:constituency": {"ons_code": seat.ons_code, "name": seat.name},
        "browser_url": settings.PUBLIC_BASE_URL.rstrip("/") + f"/s/{session.pk}/",
    }


def _attendance(booking: Booking, *, status: str, attended: bool | None, at: datetime | None, version: int,
                personal: bool) -> dict:
    """The OSDI attendance of `booking`, as of a change at `at` that left it at `version`."""
    if attended is None and booking.status in (Booking.Status.ATTENDED, Booking.Status.NO_SHOW):
        attended = booking.status == Booking.Status.ATTENDED
    return {
        "identifiers": [_id("booking", booking.pk)],
        "origin_system": ORIGIN_SYSTEM,
        "created_date": _time(booking.created_at),
        "modified_date": _time(at),
        "action_date": _time(at),
        "status": status,
        "attended": attended,
        # An unproven booking may carry a stranger's number (whoever typed it need not hold it), and its volunteer
        # is whoever that number belongs to: nothing about the person leaves until the phone is proven (the
        # booking.proven delivery carries them then), not even the volunteer's id.
        "person": (_person(booking.volunteer, personal=personal) if booking.proven_at is not None
                   else {"identifiers": []}),
        "event": _session(booking.slot),
        "frontroom:booking": {
            "id": booking.pk, "status": booking.status, "source": booking.source, "version": version,
            "approval": booking.approval, "phone_proven": booking.proven_at is not None,
        },
    }


def payload_build(event: BookingEvent, *, personal: bool = True) -> dict:
    """The Standard Webhooks envelope (type, timestamp, data) around an OSDI attendance."""
    booking = event.booking
    status = _STATUS_BY_KIND.get(event.kind) or _STATUS_BY_BOOKING.get(booking.status, "needs action")
    attended = {Kind.ATTENDED: True, Kind.NO_SHOW: False}.get(event.kind)
    data = _attendance(booking, status=status, attended=attended, at=event.created_at, version=event.version,
                       personal=personal)
    if event.kind == Kind.REDIRECTED and booking.redirected_to_id:
        moved = booking.redirected_to
        data["frontroom:redirected_to"] = {"identifiers": [_id("booking", moved.pk)], "event": _session(moved.slot)}
    return {"id": webhook_id_for(event.pk), "type": EVENT_TYPES.get(event.kind, f"booking.{event.kind}"),
            "timestamp": _time(event.created_at), "data": data}


def proven_payload_build(booking: Booking, *, personal: bool = True) -> dict:
    """booking.proven: the booking's phone was proven (the code typed, or "this is my phone" pressed on the
    private link's page), so the person is no longer only what was typed into the form. The attendance's status is the booking's as it is when the
    delivery is first attempted; the timestamp is the proof's."""
    status = _STATUS_BY_BOOKING.get(booking.status, "needs action")
    data = _attendance(booking, status=status, attended=None, at=booking.proven_at, version=booking.version,
                       personal=personal)
    return {"id": proven_webhook_id_for(booking.pk), "type": PROVEN_TYPE, "timestamp": _time(booking.proven_at),
            "data": data}


def payload_render(event: BookingEvent, *, personal: bool = True) -> str:
    """The body, minified: signed and sent byte for byte."""
    return json.dumps(payload_build(event, personal=personal), separators=(",", ":"), ensure_ascii=False)


def proven_payload_render(booking: Booking, *, personal: bool = True) -> str:
    return json.dumps(proven_payload_build(booking, personal=personal), separators=(",", ":"), ensure_ascii=False)

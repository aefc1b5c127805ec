"""What a change to a session or slot does to its bookings: told of a move or new times, or cancelled."""

from django.utils import timezone

from sessions.models import CanvassSession
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services.common import ACTIVE_STATUSES, status_set


def bookings_tell_of_move(*, meeting_point) -> int:
    """Inside the transaction that moved a meeting point: each confirmed booking of a slot there that has not
    ended gets a new version and a venue_moved event, so its volunteer is texted the new address. Texts and
    reminders written for the old address belong to the old version and are no longer sent."""
    count = 0
    for booking in Booking.objects.select_for_update(of=("self",)).filter(
        slot__session__meeting_point=meeting_point, slot__session__status=CanvassSession.Status.PUBLISHED,
        slot__ends_at__gt=timezone.now(), status=Booking.Status.CONFIRMED,
    ):
        booking.version += 1
        booking.save(update_fields=["version", "updated_at"])
        booking_event_record(booking=booking, kind=BookingEvent.Kind.VENUE_MOVED)
        count += 1
    return count


def bookings_tell_of_reschedule(*, slot) -> int:
    """Inside the transaction that moved a slot to new times: each confirmed booking on it gets a new version and a
    slot_rescheduled event, so its volunteer is texted the new time; texts and reminders of the old version are no
    longer sent."""
    count = 0
    for booking in Booking.objects.select_for_update(of=("self",)).filter(slot=slot, status=Booking.Status.CONFIRMED):
        booking.version += 1
        booking.save(update_fields=["version", "updated_at"])
        booking_event_record(booking=booking, kind=BookingEvent.Kind.SLOT_RESCHEDULED)
        count += 1
    return count


def bookings_cancel_for_session(*, session, cancelled_by=None) -> int:
    """Cancel every active booking of a cancelled session (inside its transaction). Emits session_cancelled per booking."""
    now = timezone.now()
    count = 0
    for booking in Booking.objects.select_for_update().filter(slot__session=session, status__in=ACTIVE_STATUSES):
        status_set(booking, Booking.Status.CANCELLED, cancelled_at=now)
        booking_event_record(booking=booking, kind=BookingEvent.Kind.SESSION_CANCELLED)
        count += 1
    return count


def bookings_cancel_for_slot(*, slot) -> int:
    """Cancel every active booking of a slot its host removed (inside its transaction), each told as for a
    cancelled session (a session_cancelled event: the same text, host-caused, to proven phones only)."""
    now = timezone.now()
    count = 0
    for booking in Booking.objects.select_for_update().filter(slot=slot, status__in=ACTIVE_STATUSES):
        status_set(booking, Booking.Status.CANCELLED, cancelled_at=now)
        booking_event_record(booking=booking, kind=BookingEvent.Kind.SESSION_CANCELLED)
        count += 1
    return count

"""Data for the after-the-knock tests: bookings made through the real services on a future slot, then the slot
moved to when the test needs it (a booking cannot be made on a slot that has started)."""

from datetime import datetime, timedelta

from django.utils import timezone

from sessions.models import CanvassSession, Slot
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.models import Booking


def slot_move(slot: Slot, *, starts_at: datetime, hours: float = 2) -> Slot:
    """Put the slot (and its session) at `starts_at`, lasting `hours`."""
    ends_at = starts_at + timedelta(hours=hours)
    Slot.all_objects.filter(pk=slot.pk).update(starts_at=starts_at, ends_at=ends_at)
    CanvassSession.objects.filter(pk=slot.session_id).update(starts_at=starts_at, ends_at=ends_at)
    slot.refresh_from_db()
    slot.session.refresh_from_db()
    return slot


def booked_slot(*, people: int = 1, ended_ago: timedelta | None = None, starts_at: datetime | None = None,
                hours: float = 2, proven: bool = True, **slot_fields) -> tuple[Slot, list[Booking]]:
    """A slot with `people` proven bookings, then moved to end `ended_ago` before now (or to start at `starts_at`)."""
    slot = slot_make(**slot_fields)
    bookings = [booking_make(slot=slot, volunteer=volunteer_make(name=f"Volunteer {n} Person"), proven=proven)
                for n in range(people)]
    if ended_ago is not None:
        starts_at = timezone.now() - ended_ago - timedelta(hours=hours)
    if starts_at is not None:
        slot_move(slot, starts_at=starts_at, hours=hours)
    return slot, [Booking.objects.select_related("slot__session", "volunteer").get(pk=b.pk) for b in bookings]

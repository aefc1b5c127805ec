"""Booking states and the small helpers every booking service shares: statuses, a status change, overlaps, lapsed holds."""

from django.db.models import Q

from sessions.models import Slot
from volunteers.models import Booking, Volunteer

ACTIVE_STATUSES = (Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)
HOLDING_STATUSES = (Booking.Status.CONFIRMED,)


def overlapping_confirmed(*, volunteer: Volunteer, slot: Slot, exclude_booking_id: int | None = None):
    query = Booking.objects.filter(
        volunteer=volunteer, status__in=HOLDING_STATUSES, proven_at__isnull=False, slot__starts_at__lt=slot.ends_at,
        slot__ends_at__gt=slot.starts_at,
    ).exclude(slot_id=slot.pk)
    if exclude_booking_id:
        query = query.exclude(pk=exclude_booking_id)
    return query.select_related("slot__session__meeting_point", "slot__session__seat").first()


def status_set(booking: Booking, status: str, **extra) -> None:
    booking.status = status
    booking.version += 1
    for field, value in extra.items():
        setattr(booking, field, value)
    booking.save()


def booking_status_set(*, booking: Booking, status: str, **extra) -> None:
    """Give a locked booking a new status (and these fields), bumping its version; in the caller's transaction,
    which records the event. For dispatch's overflow, which moves bookings between slots."""
    status_set(booking, status, **extra)


SLOT_RELATED = ("session__meeting_point", "session__seat")


def hold_lapsed(now) -> Q:
    return Q(proven_at__isnull=True, held_until__lte=now)

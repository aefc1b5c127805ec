"""Deleting volunteers and bookings outright, their places given back first."""

from django.db import transaction

from volunteers.models import Booking, Volunteer
from volunteers.services.cancellation import booking_cancel_locked
from volunteers.services.common import ACTIVE_STATUSES
from volunteers.services.waitlist import booking_waitlist_promote


@transaction.atomic
def volunteer_delete(*, volunteer_id: int) -> None:
    """Erase a volunteer (a coordinator acting on a deletion request), their bookings with them."""
    volunteer = Volunteer.objects.select_for_update().filter(pk=volunteer_id).first()
    if volunteer is not None:
        _release_before_delete(Booking.objects.filter(volunteer=volunteer))
        volunteer.delete()


@transaction.atomic
def bookings_delete(*, booking_ids: list[int]) -> None:
    """Delete bookings outright (a coordinator cleaning up); active ones are cancelled first."""
    bookings = Booking.objects.filter(pk__in=booking_ids)
    _release_before_delete(bookings)
    bookings.delete()


def _release_before_delete(bookings) -> None:
    """Cancel the active bookings about to be deleted, so their places go back to the slots, and promote
    those slots' waitlists in the same transaction. (Their cancellation events are deleted with them, so
    the handler that would promote the waitlist after commit, or the sweep, would never see them.)"""
    freed = set()
    for booking in bookings.select_for_update().filter(status__in=ACTIVE_STATUSES):
        if booking.status == Booking.Status.CONFIRMED:
            freed.add(booking.slot_id)
        booking_cancel_locked(booking=booking)
    for slot_id in sorted(freed):
        booking_waitlist_promote(slot_id=slot_id)


def bookings_release_before_delete(*, bookings) -> None:
    """Cancel the active bookings of this queryset about to be deleted and promote their slots' waitlists, in the
    caller's transaction (volunteers.privacy's erasure)."""
    _release_before_delete(bookings)

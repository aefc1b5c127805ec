"""A volunteer cancelling a booking (by its private link, or a locked booking)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidState, NotFound
from sessions.services import slot_release_place
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services.common import ACTIVE_STATUSES, status_set


def _locked_booking(*, manage_token: str) -> Booking:
    booking = Booking.objects.select_for_update().filter(manage_token=manage_token).first()
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    return booking


@transaction.atomic
def booking_cancel(*, manage_token: str) -> Booking:
    """Cancel a booking; a confirmed place is released and the waitlist promoted after commit. Idempotent."""
    booking = _locked_booking(manage_token=manage_token)
    return booking_cancel_locked(booking=booking)


def booking_cancel_locked(*, booking: Booking) -> Booking:
    if booking.status not in ACTIVE_STATUSES:
        if booking.status == Booking.Status.CANCELLED:
            return booking
        raise InvalidState(gettext("A %(status)s booking cannot be cancelled.") % {"status": booking.get_status_display().lower()}, code="not_cancellable")
    was_confirmed = booking.status == Booking.Status.CONFIRMED
    if was_confirmed:
        slot_release_place(slot_id=booking.slot_id, places=booking.party_size)
    status_set(booking, Booking.Status.CANCELLED, cancelled_at=timezone.now())
    booking_event_record(booking=booking, kind=BookingEvent.Kind.CANCELLED,
                         payload={"released_place": was_confirmed, "places": booking.party_size if was_confirmed else 0})
    return booking

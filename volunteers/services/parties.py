"""A booker making their party smaller: booking_party_shrink."""

from django.db import transaction
from django.utils.translation import gettext

from core.errors import InvalidInput, InvalidState, NotFound
from sessions.services import slot_release_place
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.parties import party_names_list, party_size_clean
from volunteers.services.common import ACTIVE_STATUSES, status_set


@transaction.atomic
def booking_party_shrink(*, manage_token: str, party_size: int) -> Booking:
    """Make a booking's party smaller (never bigger: to grow, book again). A confirmed party gives back the places
    it no longer needs and its booking_party_shrunk event (released_place, places) has the waitlist promoted after
    commit; a waiting party just waits for fewer places. Names beyond the new size are dropped. Idempotent: the
    same size again changes nothing."""
    booking = Booking.objects.select_for_update().filter(manage_token=manage_token).first()
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    party_size = party_size_clean(party_size)
    if booking.status not in ACTIVE_STATUSES:
        raise InvalidState(gettext("Only an active booking's party can be changed."), code="not_active",
                           fields={"party_size": [gettext("This booking is no longer active.")]})
    if party_size == booking.party_size:
        return booking
    if party_size > booking.party_size:
        message = gettext("A party can only be made smaller here: book again for more places.")
        raise InvalidInput(message, code="party_cannot_grow", fields={"party_size": [message]})
    freed = booking.party_size - party_size
    was_confirmed = booking.status == Booking.Status.CONFIRMED
    if was_confirmed:
        slot_release_place(slot_id=booking.slot_id, places=freed)
    names = ", ".join(party_names_list(booking)[:party_size - 1])
    status_set(booking, booking.status, party_size=party_size, party_names=names)
    booking_event_record(booking=booking, kind=BookingEvent.Kind.PARTY_SHRUNK,
                         payload={"released_place": was_confirmed, "places": freed if was_confirmed else 0,
                                  "from": party_size + freed, "to": party_size})
    return booking

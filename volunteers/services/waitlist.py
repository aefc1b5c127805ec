"""The waitlist: promoting waiting volunteers into free places."""

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from core.errors import InvalidState
from sessions.models import Slot
from sessions.services import slot_claim_place, slot_is_bookable
from volunteers.confirmations import offer_deadline
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services.common import hold_lapsed, overlapping_confirmed, status_set


def booking_waitlist_promote(*, slot_id: int) -> list[Booking]:
    """Fill free places from the waitlist: proven volunteers first, then first come first served (lapsed unproven
    requests never). A party is promoted whole, only when all its places are free: one that does not fit yet is
    passed over and keeps its turn, so a smaller waiter behind it may go first. Emits booking_promoted for each.
    Safe to repeat."""
    promoted: list[Booking] = []
    with transaction.atomic():
        slot = Slot.objects.select_for_update().select_related("session").filter(pk=slot_id).first()
        if slot is None:
            return promoted
        try:
            slot_is_bookable(slot)
        except InvalidState:
            return promoted
        # Proven volunteers first (an unproven request holds a place only while its code works), then by turn;
        # lapsed requests are left for the sweep.
        waiting = (
            Booking.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(slot=slot, status=Booking.Status.WAITLISTED).exclude(hold_lapsed(timezone.now()))
            .alias(unproven=ExpressionWrapper(Q(proven_at__isnull=True), output_field=BooleanField()))
            .select_related("volunteer")
            .order_by("unproven", "waitlisted_at", "id")
        )
        for booking in waiting:
            if slot.confirmed_count >= slot.capacity + slot.overbook:
                break
            if slot.confirmed_count + booking.party_size > slot.capacity + slot.overbook:
                continue  # the whole party does not fit yet: it keeps its turn for the next place freed
            if overlapping_confirmed(volunteer=booking.volunteer, slot=slot) is not None:
                continue  # they are busy elsewhere at that time; they keep their waitlist place
            if not slot_claim_place(slot_id=slot.pk, places=booking.party_size):
                break
            slot.confirmed_count += booking.party_size
            # Close to the start the place is offered, held until a deadline (volunteers.confirmations).
            until = offer_deadline(slot=slot, now=timezone.now())
            status_set(booking, Booking.Status.CONFIRMED, waitlisted_at=None, offer_expires_at=until)
            booking_event_record(booking=booking, kind=BookingEvent.Kind.OFFERED if until else BookingEvent.Kind.PROMOTED)
            promoted.append(booking)
    return promoted


RELEASING_KINDS = (BookingEvent.Kind.CANCELLED, BookingEvent.Kind.RELEASED, BookingEvent.Kind.REFUSED,
                   BookingEvent.Kind.PARTY_SHRUNK)


def waitlist_promote_after_release(event: BookingEvent) -> None:
    """Async handler: confirmed places were given up (cancelled, released unproven, refused, a party made smaller),
    so offer them to the waitlist. A waiting party made smaller may fit now: the waitlist is looked at then too."""
    if event.kind in RELEASING_KINDS and (event.payload.get("released_place")
                                          or event.kind == BookingEvent.Kind.PARTY_SHRUNK):
        booking_waitlist_promote(slot_id=event.booking.slot_id)

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
    requests never). Emits booking_promoted for each. Safe to repeat."""
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
            if overlapping_confirmed(volunteer=booking.volunteer, slot=slot) is not None:
                continue  # they are busy elsewhere at that time; they keep their waitlist place
            if not slot_claim_place(slot_id=slot.pk):
                break
            slot.confirmed_count += 1
            # Close to the start the place is offered, held until a deadline (volunteers.confirmations).
            until = offer_deadline(slot=slot, now=timezone.now())
            status_set(booking, Booking.Status.CONFIRMED, waitlisted_at=None, offer_expires_at=until)
            booking_event_record(booking=booking, kind=BookingEvent.Kind.OFFERED if until else BookingEvent.Kind.PROMOTED)
            promoted.append(booking)
    return promoted


RELEASING_KINDS = (BookingEvent.Kind.CANCELLED, BookingEvent.Kind.RELEASED, BookingEvent.Kind.REFUSED)


def waitlist_promote_after_release(event: BookingEvent) -> None:
    """Async handler: a confirmed place was given up (cancelled, released unproven, refused), so offer it to the waitlist."""
    if event.kind in RELEASING_KINDS and event.payload.get("released_place"):
        booking_waitlist_promote(slot_id=event.booking.slot_id)

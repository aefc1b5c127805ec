"""Moving a booking to another slot in one transaction (booking_swap)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import pk_in_range
from core.errors import Conflict, InvalidInput, InvalidState, NotFound
from core.ratelimit import rate_limit
from sessions.models import Slot
from sessions.selectors import slot_move_choices
from sessions.services import slot_is_bookable, slot_release_place
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.services.booking import booking_place
from volunteers.services.common import ACTIVE_STATUSES, SLOT_RELATED, status_set
from volunteers.services.waitlist import booking_waitlist_promote

SWAPPABLE_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.WAITLISTED, Booking.Status.PENDING)


def booking_swap(*, manage_token: str, slot_id: int, waitlist_when_full: bool = False) -> Booking:
    """Move the holder of a private link from their booking to another slot in one transaction: the new place is
    taken (or, with waitlist_when_full, a waitlist place if it is full), the old booking is cancelled, its place
    given back and its slot's waitlist promoted, all or nothing. Returns the new booking (its own manage_token).

    The link proves the phone, so the new booking is proven. A host's approval carries over to another slot of
    the same session. Raises NotFound (link or slot), InvalidInput (the same slot), InvalidState (a booking no
    longer active, a cancelled or started slot), Conflict slot_full (full, without waitlist_when_full) or
    overlapping_booking: then nothing changes and the volunteer keeps the place they had. Idempotent: repeating a
    swap that happened returns the booking it made. One text goes out, for the new booking (its link).

    A move is a booking: only to slot_move_choices of the booking's slot (else InvalidInput slot_not_offered), and
    counted against the phone's limits (RateLimited): every try against booking_phone, as a booking request; a
    move about to happen against move_phone and sms_phone_day too (the address's booking_ip is the callers'). The hosts are told of a move between two sessions (one "cancelled",
    one "booked", limited by move_phone); a move within one session is not news to its host (host_quiet)."""
    booking = Booking.objects.filter(manage_token=manage_token).only("pk", "volunteer_id").first() if (
        manage_token and len(manage_token) <= 64) else None
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    phone = Volunteer.objects.filter(pk=booking.volunteer_id).values_list("phone", flat=True).get()
    rate_limit(scope="booking_phone", key=phone)  # every try, as a booking request's
    if not pk_in_range(Slot, slot_id):
        raise NotFound(gettext("No such slot."), fields={"slot": [gettext("Unknown slot.")]})
    return _booking_swap(booking=booking, slot_id=slot_id, waitlist_when_full=waitlist_when_full, phone=phone)


def _move_limit(phone: str) -> None:
    """The limits of a move about to happen (it texts the phone, and may tell two hosts); raising rolls it back."""
    rate_limit(scope="move_phone", key=phone, message=gettext("Too many moves for this booking. Please try later."))
    rate_limit(scope="sms_phone_day", key=phone, message=gettext("Too many texts to this phone today. Please try tomorrow."))


@transaction.atomic
def _booking_swap(*, booking: Booking, slot_id: int, waitlist_when_full: bool, phone: str) -> Booking:
    # The volunteer first, as every booking change locks it; then the two slots in id order, so two people
    # swapping each other's way wait for one another instead of deadlocking.
    volunteer = Volunteer.objects.select_for_update().get(pk=booking.volunteer_id)
    old = Booking.objects.select_for_update(of=("self",)).select_related("slot__session").get(pk=booking.pk)
    slots = {slot.pk: slot for slot in Slot.objects.select_for_update(of=("self",)).select_related(*SLOT_RELATED)
             .filter(pk__in={old.slot_id, slot_id}).order_by("pk")}
    slot = slots.get(slot_id)
    if slot is None:
        raise NotFound(gettext("No such slot."), fields={"slot": [gettext("Unknown slot.")]})
    if slot.pk == old.slot_id:
        raise InvalidInput(gettext("You already have this slot: choose another one."), code="same_slot",
                           fields={"slot": [gettext("Your slot already.")]})
    if old.status not in SWAPPABLE_STATUSES:
        done = Booking.objects.filter(volunteer=volunteer, slot=slot, status__in=ACTIVE_STATUSES).first()
        if done is not None and old.status == Booking.Status.CANCELLED:
            return done  # the swap happened already: a repeated request
        raise InvalidState(gettext("A %(status)s booking cannot be moved.") % {"status": old.get_status_display().lower()}, code="not_swappable",
                           fields={"slot": [gettext("This booking is no longer active.")]})
    slot_is_bookable(slot)
    if not slot_move_choices(slot=old.slot).filter(pk=slot.pk).exists():
        raise InvalidInput(gettext("You can move only to another slot of this session or a session nearby."),
                           code="slot_not_offered", fields={"slot": [gettext("Not one of the slots offered.")]})
    if Booking.objects.filter(volunteer=volunteer, slot=slot, status__in=ACTIVE_STATUSES).exists():
        raise Conflict(gettext("You are already booked or waitlisted on that slot."), code="already_booked",
                       fields={"slot": [gettext("Already yours.")]})
    _move_limit(phone)
    was_confirmed = old.status == Booking.Status.CONFIRMED
    if was_confirmed:
        slot_release_place(slot_id=old.slot_id, places=old.party_size)
    status_set(old, Booking.Status.CANCELLED, cancelled_at=timezone.now())
    same_session = slot.session_id == old.slot.session_id
    carried = Booking.Approval.APPROVED if old.approval == Booking.Approval.APPROVED and same_session else None
    # Within one session the host's front room keeps its volunteer: no "booked" and "cancelled" for them.
    quiet = {"host_quiet": True} if same_session else {}
    result = booking_place(volunteer=volunteer, slot=slot, waitlist_when_full=waitlist_when_full, proven=True,
                           approval=carried, event_payload={"swapped_from": old.pk, **quiet},
                           party_size=old.party_size, party_names=old.party_names)  # the party moves as one
    new = result.booking
    # by_request: the new booking's text says it all; no "cancelled" text for the old one.
    booking_event_record(booking=old, kind=BookingEvent.Kind.CANCELLED,
                         payload={"released_place": was_confirmed, "places": old.party_size if was_confirmed else 0,
                                  "swapped_to": new.pk, "by_request": True, **quiet})
    if volunteer.phone_verified_at is None:
        Volunteer.objects.filter(pk=volunteer.pk).update(phone_verified_at=timezone.now())
    if was_confirmed:
        booking_waitlist_promote(slot_id=old.slot_id)
    new.volunteer = volunteer
    return new

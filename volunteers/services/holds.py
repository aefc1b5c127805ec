"""Unproven holds: how long a booking request keeps its place, and releasing the places whose hold lapsed."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sessions.services import slot_release_place
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services.common import ACTIVE_STATUSES, hold_lapsed, status_set
from volunteers.services.waitlist import booking_waitlist_promote

logger = logging.getLogger(__name__)


# --- Unproven holds ---------------------------------------------------------------------------------------------
# A booking request holds its place (or waitlist place) only while its code works: from held_since until
# held_until (UNPROVEN_HOLD_MINUTES, extended by a new code up to UNPROVEN_HOLD_MAX_MINUTES after held_since).
# A lapsed hold counts as free at once: whoever finds the slot full releases the slot's lapsed holds first
# (slot_lapsed_release); the beat sweep (bookings_release_unproven) tidies up the rest. A proven volunteer always
# gets a place held only by unproven requests: the newest goes back to waiting (unproven_hold_give_way).


def booking_end(booking: Booking, *, kind: str, **fields) -> None:
    """Cancel an active, locked booking with its own event kind (released, refused): the place is given back and
    the event's released_place has the waitlist promoted after commit."""
    was_confirmed = booking.status == Booking.Status.CONFIRMED
    if was_confirmed:
        slot_release_place(slot_id=booking.slot_id, places=booking.party_size)
    by = fields.pop("by", None)
    status_set(booking, Booking.Status.CANCELLED, cancelled_at=timezone.now(), **fields)
    payload = {"released_place": was_confirmed, "places": booking.party_size if was_confirmed else 0}
    if by is not None:
        payload["by"] = by
    booking_event_record(booking=booking, kind=kind, payload=payload)


def hold_new(now) -> dict:
    """The hold fields of a place a booking request takes now, unproven."""
    return {"held_since": now, "held_until": now + timedelta(minutes=settings.UNPROVEN_HOLD_MINUTES)}


def hold_extend(*, booking: Booking, now=None) -> None:
    """A new code was texted for this unproven booking (resend, or asked again): its hold lasts as long as the new
    code works, but never past held_since + UNPROVEN_HOLD_MAX_MINUTES, and is never shortened. Call with the
    booking locked; does nothing to a proven booking or one no request holds."""
    if booking.proven_at is not None or booking.held_until is None or booking.status not in ACTIVE_STATUSES:
        return
    now = now or timezone.now()
    cap = (booking.held_since or booking.created_at) + timedelta(minutes=settings.UNPROVEN_HOLD_MAX_MINUTES)
    until = max(booking.held_until, min(now + timedelta(minutes=settings.UNPROVEN_HOLD_MINUTES), cap))
    if until != booking.held_until:
        booking.held_until = until
        Booking.objects.filter(pk=booking.pk).update(held_until=until)


LAPSED_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat")


def slot_lapsed_release(*, slot_id: int, now=None) -> int:
    """Release the places on one slot whose unproven hold has lapsed, now (not at the sweep's next turn), and
    offer them to the slot's waitlist first. Inside the caller's transaction; returns how many were released.
    Rows being proven or released meanwhile are skipped (SKIP LOCKED)."""
    now = now or timezone.now()
    if not _lapsed_on_slot(slot_id=slot_id, now=now):
        return 0
    due = Booking.objects.filter(hold_lapsed(now), slot_id=slot_id, status=Booking.Status.CONFIRMED)
    lapsed = list(due.select_for_update(of=("self",), skip_locked=True).select_related(*LAPSED_RELATED)
                  .order_by("id"))
    for booking in lapsed:
        booking_end(booking, kind=BookingEvent.Kind.RELEASED)
    if lapsed:
        booking_waitlist_promote(slot_id=slot_id)
    return len(lapsed)


def _lapsed_on_slot(*, slot_id: int, now) -> bool:
    """Whether a confirmed place on the slot is held by an unproven request whose hold has lapsed (hold_lapsed)."""
    # Most full slots have nothing lapsed: a plain EXISTS first, before the locked read with its joins (that read
    # cost a request to a full slot most of its time), as a statement built once (the ORM's exists() still cost
    # that request about 0.5 ms of CPU): BENCHMARKS.md, "Safety checks: the cost to a booking and a proof".
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT 1 FROM {Booking._meta.db_table} WHERE slot_id = %s AND status = %s AND proven_at IS NULL
                AND held_until <= %s LIMIT 1""",
            [slot_id, Booking.Status.CONFIRMED, connection.ops.adapt_datetimefield_value(now)])
        return cursor.fetchone() is not None


def unproven_hold_give_way(*, slot_id: int, places: int = 1) -> Booking | None:
    """For a proven volunteer (or party of `places`) finding the slot full: the newest unproven request holding
    at least as many places goes back to the waitlist, whole (keeping its turn by its request time), its places
    passing to the caller (a bigger party's extra places are given back, so nothing can overbook). None if no
    unproven request holds enough. Skips rows locked meanwhile (being proven: they keep their place)."""
    booking = (Booking.objects.select_for_update(of=("self",), skip_locked=True)
               .filter(slot_id=slot_id, status=Booking.Status.CONFIRMED, proven_at__isnull=True,
                       held_until__isnull=False, party_size__gte=places).order_by("-held_since", "-id").first())
    if booking is None:
        return None
    if booking.party_size > places:  # the rest are free; whoever books next (or the sweep's promotion) takes them
        slot_release_place(slot_id=slot_id, places=booking.party_size - places)
    status_set(booking, Booking.Status.WAITLISTED, waitlisted_at=booking.held_since or booking.created_at)
    return booking


def gave_way_record(booking: Booking, *, to: Booking) -> None:
    # Quiet (by_request): the phone was never proven, and its booking page says where it stands.
    booking_event_record(booking=booking, kind=BookingEvent.Kind.WAITLISTED,
                         payload={"by_request": True, "gave_way_to": to.pk})


def unproven_release_due(*, now=None):
    """Active bookings whose unproven hold has lapsed (held_until passed). Slots that have ended are left as they
    are."""
    now = now or timezone.now()
    return Booking.objects.filter(hold_lapsed(now), status__in=ACTIVE_STATUSES, slot__ends_at__gt=now)


def bookings_release_unproven(*, now=None, limit: int = 500) -> int:
    """Release unproven bookings whose hold is over (unproven_release_due), each in its own transaction: the
    place goes back, the waitlist is promoted after commit, the phone is texted. Returns how many. Safe to run
    twice, and concurrently: a booking is released once (it is locked and checked again)."""
    released = 0
    for booking_id in list(unproven_release_due(now=now).order_by("created_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            booking = (unproven_release_due(now=now).select_for_update(of=("self",), skip_locked=True)
                       .select_related("volunteer", "slot__session__meeting_point", "slot__session__seat")
                       .filter(pk=booking_id).first())
            if booking is None:
                continue  # proven, cancelled or being released meanwhile
            booking_end(booking, kind=BookingEvent.Kind.RELEASED)
            released += 1
    if released:
        logger.info("released %d unproven bookings", released)
    return released

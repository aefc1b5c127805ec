"""What proving a booking request's phone does for its place: booking_proven_place."""

from django.db import connection, transaction

from core.db import instances_from_related_row, related_select
from core.errors import Conflict, InvalidState
from sessions.models import Slot
from sessions.services import slot_is_bookable
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.services.booking import booking_place
from volunteers.services.common import HOLDING_STATUSES, status_set
from volunteers.services.holds import LAPSED_RELATED, gave_way_record, slot_lapsed_release, unproven_hold_give_way


def booking_proven_place(*, booking_id: int) -> bool:
    """Inside the transaction that proved a booking request's phone: a booking still waiting takes a place held by
    a lapsed or unproven request (the newest unproven goes back to waiting); a booking released because its hold
    lapsed asks for its slot again, as a proven volunteer (a place if one is free or held unproven, else the
    waitlist). Returns whether the booking changed. Idempotent; a slot that can't be booked is left alone."""
    if _waiting_behind_proven_places(booking_id=booking_id):
        return False  # nothing below could seat it: no locks taken, nothing written
    booking = _booking_locked_for_place(booking_id)
    slot = booking.slot
    try:
        slot_is_bookable(slot)
    except InvalidState:
        return False
    if booking.status == Booking.Status.CANCELLED and BookingEvent.objects.filter(
            booking=booking, kind=BookingEvent.Kind.RELEASED, version=booking.version).exists():
        volunteer = Volunteer.objects.select_for_update().get(pk=booking.volunteer_id)
        try:
            with transaction.atomic():
                booking_place(volunteer=volunteer, slot=slot, proven=True, party_size=booking.party_size,
                              party_names=booking.party_names)
        except (Conflict, InvalidState):
            return False  # busy elsewhere at that time: the booking stays released
        return True
    if booking.status != Booking.Status.WAITLISTED or booking.proven_at is None:
        return False
    if _overlaps_proven_place(volunteer_id=booking.volunteer_id, slot=slot):
        return False
    if slot_lapsed_release(slot_id=slot.pk) > 0:  # promotes the waitlist, proven first
        booking.refresh_from_db(fields=["status", "version", "waitlisted_at"])
        if booking.status != Booking.Status.WAITLISTED:
            return True
    gave_way = unproven_hold_give_way(slot_id=slot.pk, places=booking.party_size)
    if gave_way is None:
        return False
    status_set(booking, Booking.Status.CONFIRMED, waitlisted_at=None)
    booking_event_record(booking=booking, kind=BookingEvent.Kind.PROMOTED)
    gave_way_record(gave_way, to=booking)
    return True


# The two reads below are statements built once: in bench/request_cpu.py's proofs (bookings requested before they
# are proven, so slots fill with unproven holds) about one proof in ten is a proven waiter taking such a place, and
# the ORM's compilation of this locked read with its joins and of overlapping_confirmed was over a third of that
# proof's CPU (BENCHMARKS.md, "Safety checks: the cost to a booking and a proof (issue 20)").


def _booking_locked_for_place(booking_id: int) -> Booking:
    """``Booking.objects.select_for_update(of=("self",)).select_related(*LAPSED_RELATED).get(pk=booking_id)``."""
    sql, plan = related_select(Booking, LAPSED_RELATED)
    lock = " FOR UPDATE OF t0" if connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE t0.id = %s{lock}", [booking_id])
        row = cursor.fetchone()
    if row is None:
        raise Booking.DoesNotExist(f"no booking {booking_id}")
    return instances_from_related_row(plan, row)


def _overlaps_proven_place(*, volunteer_id: int, slot: Slot) -> bool:
    """Whether ``overlapping_confirmed(volunteer=..., slot=slot)`` would find a booking."""
    statuses = ", ".join(["%s"] * len(HOLDING_STATUSES))
    # bench/proof_cases.py: with _booking_locked_for_place, a proven waiter taking a place fell from 1.72 s to
    # 0.72 s per 300 proofs profiled (BENCHMARKS.md "Safety checks").
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT 1 FROM {Booking._meta.db_table} b JOIN {Slot._meta.db_table} s ON s.id = b.slot_id
                WHERE b.volunteer_id = %s AND b.status IN ({statuses}) AND b.proven_at IS NOT NULL
                AND s.starts_at < %s AND s.ends_at > %s AND b.slot_id <> %s LIMIT 1""",
            [volunteer_id, *HOLDING_STATUSES, connection.ops.adapt_datetimefield_value(slot.ends_at),
             connection.ops.adapt_datetimefield_value(slot.starts_at), slot.pk])
        return cursor.fetchone() is not None


def _waiting_behind_proven_places(*, booking_id: int) -> bool:
    """Whether the booking is waitlisted on a slot where no place is held by an unproven request. Then
    booking_proven_place can do nothing for it: a lapsed hold (slot_lapsed_release) and a place that gives way
    (unproven_hold_give_way) are both such places. Unlocked: a hold another transaction writes meanwhile is
    invisible to the locked reads it spares too (the proof's transaction holds the booking's own row already)."""
    # One statement built once: a slot that fills is soon full of proven places, and each proof of its waitlist
    # (900 of the 1,000 proofs of bench/booking.py's fill run) paid a locked read and three ORM queries for
    # nothing, which took that proof from 3.9 to 12.7 ms of gunicorn CPU (BENCHMARKS.md, issue 20).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT 1 FROM {Booking._meta.db_table} b WHERE b.id = %s AND b.status = %s AND NOT EXISTS (
                    SELECT 1 FROM {Booking._meta.db_table} h WHERE h.slot_id = b.slot_id AND h.status = %s
                    AND h.proven_at IS NULL AND h.held_until IS NOT NULL)""",
            [booking_id, Booking.Status.WAITLISTED, Booking.Status.CONFIRMED])
        return cursor.fetchone() is not None

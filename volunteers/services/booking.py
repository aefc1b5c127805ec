"""Placing a locked volunteer on a slot: a place if there is room, otherwise the waitlist."""

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import dateformat, timezone
from django.utils.translation import gettext

from core.db import insert_or_get, instance_from_row
from core.errors import Conflict
from core.languages import language_current
from sessions.models import Slot
from sessions.services import slot_claim_place, slot_is_bookable
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.services.common import ACTIVE_STATUSES, HOLDING_STATUSES, overlapping_confirmed, status_set
from volunteers.services.holds import gave_way_record, hold_new, slot_lapsed_release, unproven_hold_give_way


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    created: bool


def _existing_and_clashing(*, volunteer: Volunteer, slot: Slot) -> tuple[Booking | None, bool]:
    """The volunteer's booking of this slot (locked), and whether a confirmed booking elsewhere overlaps it. Only a
    proven booking counts: an unproven hold may have been made by somebody else with this number, and must not
    stand in the way of the phone's owner (nor, through an error, say where they are)."""
    meta = Booking._meta
    columns = ", ".join(f'b."{field.column}"' for field in meta.concrete_fields)
    statuses = ", ".join(["%s"] * len(HOLDING_STATUSES))
    lock = " FOR UPDATE OF b" if connection.features.has_select_for_update_of else ""
    # bench/booking.py: part of the booking path cut to 6 statements (commit 40d0a85, BENCHMARKS.md "Booking
    # throughput"); no side-by-side figure of its own yet (issue 23).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {columns}, b.slot_id = %s FROM {meta.db_table} b JOIN {Slot._meta.db_table} s ON s.id = b.slot_id
                WHERE b.volunteer_id = %s AND (b.slot_id = %s OR (b.status IN ({statuses}) AND b.proven_at IS NOT NULL
                                                                  AND s.starts_at < %s
                                                                  AND s.ends_at > %s)){lock}""",
            [slot.pk, volunteer.pk, slot.pk, *HOLDING_STATUSES, slot.ends_at, slot.starts_at],
        )
        rows = cursor.fetchall()
    existing = next((instance_from_row(Booking, meta.concrete_fields, row[:-1]) for row in rows if row[-1]), None)
    return existing, any(not row[-1] for row in rows)


def booking_place(*, volunteer: Volunteer, slot: Slot, source: str = Booking.Source.DIRECT,
                  waitlist_when_full: bool = True, event_payload: dict | None = None,
                  volunteer_is_new: bool = False, proven: bool = False,
                  looked_up: tuple[Booking | None, bool] | None = None, approval: str | None = None,
                  said_name: str = "", language: str | None = None, party_size: int = 1,
                  party_names: str = "") -> BookingResult:
    """Book a locked volunteer onto a slot: confirmed if there is room, otherwise waitlisted.

    Must run inside a transaction with the volunteer row locked. Returns the existing active
    booking unchanged when there is one (idempotent). Raises Conflict for an overlapping
    confirmed booking, InvalidState for a cancelled or started slot. With waitlist_when_full
    False a full slot raises Conflict (code slot_full) instead of waitlisting. volunteer_is_new (the
    volunteer row was created in this transaction) spares the lookup of their other bookings. approval,
    when given, replaces the slot's own (approval_for), e.g. a host's approval carried to another slot. said_name:
    the first name a booking request typed (Booking.said_name), written with the place. party_size: the places
    the booking takes (volunteers.parties), all or nothing: a party waits together when they do not all fit.
    """
    slot_is_bookable(slot)
    if looked_up is not None:  # the caller read the volunteer's row for this slot, and settled the clash, itself
        existing, clashes = looked_up
    else:
        existing, clashes = (None, False) if volunteer_is_new else _existing_and_clashing(volunteer=volunteer, slot=slot)
    if existing is not None:
        existing.volunteer, existing.slot = volunteer, slot  # already loaded: spare the serializer the queries
    if existing is not None and existing.status in ACTIVE_STATUSES:
        return BookingResult(existing, created=False)

    if clashes:
        clash = overlapping_confirmed(volunteer=volunteer, slot=slot)
        raise Conflict(
            gettext("You are already booked on '%(title)s' at %(when)s, which overlaps this slot.") % {"title": clash.slot.session.title, "when": dateformat.format(timezone.localtime(clash.slot.starts_at), "D d M H:i")},
            code="overlapping_booking", fields={"slot": [gettext("Overlaps another confirmed booking.")]},
        )

    party = {"party_size": party_size, "party_names": party_names}
    if existing is None and slot.confirmed_count + party_size <= slot.capacity + slot.overbook:
        booking = _booking_confirm_then_claim(volunteer=volunteer, slot=slot, source=source, event_payload=event_payload,
                                              proven=proven, approval=approval, said_name=said_name,
                                              language=language, party=party)
        if booking is not None:
            return BookingResult(booking, created=True)

    now = timezone.now()
    # Full as counted: lapsed holds count as free (released now, their waitlist served first), and a proven
    # volunteer takes the place of the newest unproven request (whose place it was only while its code works).
    gave_way = None
    claimed = slot_claim_place(slot_id=slot.pk, places=party_size) or (
        slot_lapsed_release(slot_id=slot.pk, now=now) > 0 and slot_claim_place(slot_id=slot.pk, places=party_size))
    if not claimed and proven:
        gave_way = unproven_hold_give_way(slot_id=slot.pk, places=party_size)
    if claimed or gave_way is not None:
        status, kind, extra = Booking.Status.CONFIRMED, BookingEvent.Kind.CONFIRMED, {"waitlisted_at": None}
    elif waitlist_when_full:
        status, kind, extra = Booking.Status.WAITLISTED, BookingEvent.Kind.WAITLISTED, {"waitlisted_at": now}
    else:
        raise Conflict(gettext("This slot is full."), code="slot_full", fields={"slot": [gettext("Full.")]})

    if language or existing is not None:  # a new row takes the active language as its default; a re-used one too
        extra["language"] = language or language_current()
    extra.update(proven_at=now if proven else None, approval=approval or approval_for(slot), **party,
                 **({"said_name": said_name} if said_name else {}),
                 **({"held_since": None, "held_until": None} if proven else hold_new(now)))
    if existing is None:
        booking, _ = insert_or_get(Booking(volunteer=volunteer, slot=slot, status=status, source=source, **extra),
                                   unique_fields=("volunteer", "slot"))
    else:  # re-booking after a cancellation reuses the row: one booking per volunteer and slot
        status_set(existing, status, source=source, cancelled_at=None, redirected_to=None, **extra)
        booking = existing
    booking_event_record(booking=booking, kind=kind, payload=event_payload)
    if gave_way is not None:
        gave_way_record(gave_way, to=booking)
    return BookingResult(booking, created=True)


class SlotFilledMeanwhile(Exception):
    pass


def approval_for(slot: Slot) -> str:
    """A new booking's approval: pending when the slot's session asks its host to approve each volunteer."""
    return Booking.Approval.PENDING if slot.session.requires_approval else Booking.Approval.NOT_REQUIRED


def _booking_confirm_then_claim(*, volunteer: Volunteer, slot: Slot, source: str,
                                event_payload: dict | None, proven: bool = False,
                                approval: str | None = None, said_name: str = "",
                                language: str | None = None, party: dict | None = None) -> Booking | None:
    """Write the confirmed booking, its event and outbox rows first and take the place last; None,
    with nothing written, if the slot filled up since it was read.

    Taking the place locks the slot row until COMMIT. Claiming last keeps that to the UPDATE,
    RELEASE SAVEPOINT and COMMIT, however many rows the booking writes, so bookings of a popular
    slot queue for three round trips each instead of five.
    """
    try:
        with transaction.atomic():
            now = timezone.now()
            booking, _ = insert_or_get(Booking(volunteer=volunteer, slot=slot, status=Booking.Status.CONFIRMED,
                                               source=source, waitlisted_at=None,
                                               approval=approval or approval_for(slot),
                                               proven_at=now if proven else None, said_name=said_name,
                                               **({"language": language} if language else {}), **(party or {}),
                                               **({} if proven else hold_new(now))),
                                       unique_fields=("volunteer", "slot"))
            booking_event_record(booking=booking, kind=BookingEvent.Kind.CONFIRMED, payload=event_payload)
            if not slot_claim_place(slot_id=slot.pk, places=booking.party_size):
                raise SlotFilledMeanwhile
    except SlotFilledMeanwhile:
        return None  # rolled back to the savepoint, on_commit callbacks included
    return booking

"""Booking requests by phone: holding a place, unproven, with the challenge that texts the code."""

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext

from core.db import (
    get_with_related,
    instances_from_related_row,
    pk_in_range,
    related_select,
)
from core.errors import NotFound
from sessions.models import Slot
from sessions.services import slot_is_bookable
from volunteers.events import phone_challenge_announce
from volunteers.models import Booking, PhoneChallenge, Volunteer
from volunteers.services.booking import booking_place
from volunteers.services.common import ACTIVE_STATUSES, SLOT_RELATED
from volunteers.services.holds import hold_extend
from volunteers.services.people import volunteer_get_or_create

BY_REQUEST = {"by_request": True}  # the event's payload: the request's code text tells the phone, no second SMS


def first_name_said(name: str) -> str:
    """The first word of a typed name, as much as Booking.said_name keeps: what a host sees of an unproven place."""
    parts = (name or "").split()
    return parts[0][:Booking._meta.get_field("said_name").max_length] if parts else ""


@dataclass(frozen=True)
class BookingHeld:
    """What a booking request did for a phone, and the challenge that texts the phone about it."""

    booking: Booking
    challenge: PhoneChallenge
    # "booked": a new place or waitlist place; "already_booked": the phone holds this very slot already.
    situation: str


def booking_hold(*, slot_id: int, phone: str, fields: dict, challenge: PhoneChallenge, code: str,
                 pending_if_new: dict | None = None, said_name: str = "", party_size: int = 1,
                 party_names: str = "") -> BookingHeld:
    """Hold a place (or a waitlist place) on a slot for an E.164 phone, unproven, and write the challenge
    whose code text tells the phone about it (phone_challenge_issued, in the same transaction).

    A new phone gets a volunteer made of `fields`, and its challenge keeps only `pending_if_new` (what must
    wait for the code even so: the email). A known phone's stored details are left alone (the
    challenge keeps what was said in pending_details) and nothing of theirs is returned to the caller, nor
    shown to the session's host: the hold carries only `said_name` (the typed first name) until it is proven.
    The phone's other bookings are never read here: a request at the time of a place the phone holds
    elsewhere holds this one too, exactly as for a phone with no bookings (the clash is the prover's to settle,
    volunteers.selectors.booking_clash), and a known phone costs the same statements as a new one (the
    answer's timing says nothing of who holds a number). Only the phone's own row for this slot is read
    (re-booking a cancelled place reuses it; an active one is only named in the text).
    Raises NotFound for an unknown slot and InvalidState for a cancelled or started one, whatever the
    phone. Idempotent per (phone, slot): a repeat holds nothing new. party_size (validated by the caller,
    volunteers.parties) places are held, all or nothing; a party that does not fit waits together.
    """
    if not pk_in_range(Slot, slot_id):
        raise NotFound(gettext("No such slot."), fields={"slot": [gettext("Unknown slot.")]})
    said_name = first_name_said(said_name or fields.get("name", ""))
    # bench/first_booking.py (at ced0a4b): the one-statement first booking saved 10-14% of a booking's CPU, under
    # the 15% a hand-written statement must pay (BENCHMARKS.md "First booking: one statement vs the ORM"): the ORM.
    party = {"party_size": party_size, "party_names": party_names}
    with transaction.atomic():
        return _booking_hold_in(slot=get_with_related(Slot, slot_id, related=SLOT_RELATED), phone=phone,
                                fields=fields, challenge=challenge, code=code, pending_if_new=pending_if_new or {},
                                said_name=said_name, party=party)


def _booking_hold_in(*, slot: Slot | None, phone: str, fields: dict, challenge: PhoneChallenge,
                     code: str, pending_if_new: dict, said_name: str, party: dict) -> BookingHeld:
    if slot is None:
        raise NotFound(gettext("No such slot."), fields={"slot": [gettext("Unknown slot.")]})
    slot_is_bookable(slot)  # before the phone is looked at: the same answer for every phone
    volunteer, created = volunteer_get_or_create(phone=phone, fields=fields)
    # This slot's row only, for every phone alike (a new phone finds none): never the phone's other bookings.
    existing = _own_row_locked(volunteer=volunteer, slot=slot)
    situation = "booked"
    if existing is not None and existing.status in ACTIVE_STATUSES:
        booking, situation = existing, "already_booked"
        booking.volunteer, booking.slot = volunteer, slot
        hold_extend(booking=booking)  # a new code: its place is held while it works, up to the cap
    else:
        booking = booking_place(volunteer=volunteer, slot=slot, event_payload=BY_REQUEST,
                                looked_up=(existing, False), said_name=said_name, **party).booking
    challenge.pending_details = pending_if_new if created else challenge.pending_details
    challenge.volunteer, challenge.booking = volunteer, booking
    challenge.save(force_insert=True)
    phone_challenge_announce(challenge=challenge, code=code, situation=situation)
    return BookingHeld(booking=booking, challenge=challenge, situation=situation)


def _own_row_locked(*, volunteer: Volunteer, slot: Slot) -> Booking | None:
    """The volunteer's booking of this slot, locked, or None."""
    # A statement built once: every request to a full slot reads this, and the ORM's compilation of it cost that
    # request about 0.5 ms of CPU (BENCHMARKS.md, "Safety checks: the cost to a booking and a proof").
    sql, plan = related_select(Booking, ())
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE t0.volunteer_id = %s AND t0.slot_id = %s{lock}", [volunteer.pk, slot.pk])
        row = cursor.fetchone()
    return None if row is None else instances_from_related_row(plan, row)



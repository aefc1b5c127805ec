"""Booking requests by phone: holding a place, unproven, with the challenge that texts the code."""

import functools
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import (
    get_with_related,
    insert_values,
    instance_from_row,
    instances_from_related_row,
    pk_in_range,
    related_select,
    related_select_columns,
)
from core.errors import NotFound
from sessions.models import Slot
from sessions.services import slot_claim_place, slot_is_bookable
from volunteers.events import booking_event_announce, booking_event_new, phone_challenge_announce
from volunteers.models import Booking, BookingEvent, PhoneChallenge, Volunteer
from volunteers.services.booking import SlotFilledMeanwhile, booking_place
from volunteers.services.common import ACTIVE_STATUSES, SLOT_RELATED
from volunteers.services.holds import hold_extend, hold_new
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
                 pending_if_new: dict | None = None, said_name: str = "") -> BookingHeld:
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
    phone. Idempotent per (phone, slot): a repeat holds nothing new.
    """
    if not pk_in_range(Slot, slot_id):
        raise NotFound(gettext("No such slot."), fields={"slot": [gettext("Unknown slot.")]})
    said_name = first_name_said(said_name or fields.get("name", ""))
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                slot, held = _booking_first_hold(
                    slot_id=slot_id, volunteer=Volunteer(phone=phone, **fields), challenge=challenge, code=code,
                    pending_if_new=pending_if_new or {}, said_name=said_name)
                return held or _booking_hold_in(slot=slot, phone=phone, fields=fields, challenge=challenge, code=code,
                                                pending_if_new=pending_if_new or {}, said_name=said_name)
        except SlotFilledMeanwhile:
            challenge.pk = None  # everything rolled back: hold again the general way, which waitlists
            challenge._state.adding = True
    with transaction.atomic():
        return _booking_hold_in(slot=get_with_related(Slot, slot_id, related=SLOT_RELATED), phone=phone,
                                fields=fields, challenge=challenge, code=code, pending_if_new=pending_if_new or {},
                                said_name=said_name)


def _booking_hold_in(*, slot: Slot | None, phone: str, fields: dict, challenge: PhoneChallenge,
                     code: str, pending_if_new: dict, said_name: str) -> BookingHeld:
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
                                looked_up=(existing, False), said_name=said_name).booking
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


def _booking_first_hold(*, slot_id: int, volunteer: Volunteer, challenge: PhoneChallenge, code: str,
                        pending_if_new: dict, said_name: str) -> tuple[Slot | None, BookingHeld | None]:
    """The common booking in one statement (PostgreSQL): a phone with no row for this slot, on a slot with room
    as read. That statement reads the slot with its session, meeting point and seat, and, if the slot has room,
    inserts the volunteer (or, for a known phone, locks and returns the stored row, unchanged: ON CONFLICT DO
    UPDATE of nothing but the phone), the confirmed (unproven) booking, its event and the phone challenge; the
    code text's outbox row follows (phone_challenge_issued) and the place is taken last, as in booking_place.
    A known phone and a new one cost the same statements.

    Returns the slot (None if there is none) and the result, or no result when the phone has a row for this slot
    or the slot looked full: _booking_hold_in then decides, in the same transaction. Raises SlotFilledMeanwhile,
    for the caller to roll back, if the place went in the meantime.
    """
    sql, plan, parts = _first_booking_statement()
    booking = Booking(slot_id=slot_id, status=Booking.Status.CONFIRMED, source=Booking.Source.DIRECT,
                      said_name=said_name, **hold_new(timezone.now()))
    event = booking_event_new(booking=booking, kind=BookingEvent.Kind.CONFIRMED, payload=BY_REQUEST)
    # A new volunteer is made of what was said, and its challenge keeps only what must wait on the code even so
    # (pending_if_new); a known phone's challenge keeps all that was said. The statement picks one.
    pending_field = PhoneChallenge._meta.get_field("pending_details")
    pending = [pending_field.get_db_prep_save(pending_if_new, connection),
               pending_field.get_db_prep_save(challenge.pending_details, connection)]
    params = [slot_id, *insert_values(volunteer, parts["volunteer"]), *insert_values(booking, parts["booking"]),
              *insert_values(event, parts["event"]), *insert_values(challenge, parts["challenge"]), *pending, slot_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    slot = instances_from_related_row(plan, row)
    offset = related_select_columns(Slot, SLOT_RELATED)
    values = {}
    for name, model in (("volunteer", Volunteer), ("booking", Booking), ("event", BookingEvent),
                        ("challenge", PhoneChallenge)):
        count = len(model._meta.concrete_fields)
        values[name] = row[offset:offset + count]
        offset += count
    if values["booking"][0] is None:
        return slot, None
    slot_is_bookable(slot)  # raising rolls the inserts back
    volunteer = instance_from_row(Volunteer, Volunteer._meta.concrete_fields, values["volunteer"])
    booking = instance_from_row(Booking, Booking._meta.concrete_fields, values["booking"])
    event = instance_from_row(BookingEvent, BookingEvent._meta.concrete_fields, values["event"])
    challenge = instance_from_row(PhoneChallenge, PhoneChallenge._meta.concrete_fields, values["challenge"])
    booking.volunteer, booking.slot, event.booking = volunteer, slot, booking
    challenge.volunteer, challenge.booking = volunteer, booking
    if slot.session.requires_approval:  # rare: spare the common statement a CASE for it
        booking.approval = Booking.Approval.PENDING
        Booking.objects.filter(pk=booking.pk).update(approval=booking.approval)
    booking_event_announce(event)
    phone_challenge_announce(challenge=challenge, code=code, situation="booked")
    if not slot_claim_place(slot_id=slot.pk):
        raise SlotFilledMeanwhile
    return slot, BookingHeld(booking=booking, challenge=challenge, situation="booked")


@functools.cache
def _first_booking_statement() -> tuple[str, tuple, dict[str, list]]:
    quote = connection.ops.quote_name
    slot_sql, plan = related_select(Slot, SLOT_RELATED)
    parts = {
        "volunteer": [f for f in Volunteer._meta.concrete_fields if not f.primary_key],
        "booking": [f for f in Booking._meta.concrete_fields if not f.primary_key and f.name != "volunteer"],
        "event": [f for f in BookingEvent._meta.concrete_fields if not f.primary_key and f.name != "booking"],
        "challenge": [f for f in PhoneChallenge._meta.concrete_fields
                      if not f.primary_key and f.name not in ("volunteer", "booking", "pending_details")],
    }
    pending_column = quote(PhoneChallenge._meta.get_field("pending_details").column)

    def columns(fields) -> str:
        return ", ".join(quote(f.column) for f in fields)

    def placeholders(fields) -> str:
        return ", ".join(["%s"] * len(fields))

    def returning(model) -> str:
        return ", ".join(quote(f.column) for f in model._meta.concrete_fields)

    def selected(alias, model) -> str:
        return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)

    select, _, joins = slot_sql.partition(" FROM ")
    phone = quote("phone")
    # v: a known phone's row is returned (and locked) by a no-op update, so both kinds of phone write one row
    # version here and go on through the same inserts; (xmax = 0) tells a row inserted by this statement.
    sql = f"""
        WITH room AS (SELECT 1 FROM {quote(Slot._meta.db_table)} WHERE id = %s AND confirmed_count < capacity),
        v AS (INSERT INTO {quote(Volunteer._meta.db_table)} ({columns(parts["volunteer"])})
              SELECT {placeholders(parts["volunteer"])} WHERE EXISTS (SELECT 1 FROM room)
              ON CONFLICT ({phone}) DO UPDATE SET {phone} = EXCLUDED.{phone}
              RETURNING {returning(Volunteer)}, (xmax = 0) AS created),
        b AS (INSERT INTO {quote(Booking._meta.db_table)} (volunteer_id, {columns(parts["booking"])})
              SELECT v.id, {placeholders(parts["booking"])} FROM v
              ON CONFLICT (volunteer_id, slot_id) DO NOTHING RETURNING {returning(Booking)}),
        e AS (INSERT INTO {quote(BookingEvent._meta.db_table)} (booking_id, {columns(parts["event"])})
              SELECT b.id, {placeholders(parts["event"])} FROM b RETURNING {returning(BookingEvent)}),
        c AS (INSERT INTO {quote(PhoneChallenge._meta.db_table)}
                     (volunteer_id, booking_id, {columns(parts["challenge"])}, {pending_column})
              SELECT b.volunteer_id, b.id, {placeholders(parts["challenge"])},
                     CASE WHEN (SELECT created FROM v) THEN %s::jsonb ELSE %s::jsonb END FROM b
              RETURNING {returning(PhoneChallenge)})
        {select}, {selected("v", Volunteer)}, {selected("b", Booking)}, {selected("e", BookingEvent)},
        {selected("c", PhoneChallenge)}
        FROM {joins} LEFT JOIN v ON true LEFT JOIN b ON true LEFT JOIN e ON true LEFT JOIN c ON true
        WHERE t0.id = %s"""
    return sql, plan, parts

"""Writes and rules for volunteers and bookings.

Capacity is guarded twice: the conditional UPDATE in sessions.services.slot_claim_place, and
the database check constraint slot_not_overbooked. A volunteer's own bookings are serialised by
locking their Volunteer row, which makes "same slot twice" and "two overlapping slots" safe
under concurrent requests.
"""

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import dateformat, timezone
from django.utils.translation import gettext

from core.broker import enqueue
from core.db import (
    get_with_related,
    insert_or_get,
    insert_values,
    instance_from_row,
    instances_from_related_row,
    pk_in_range,
    related_select,
    related_select_columns,
    upsert_returning,
)
from core.errors import Conflict, InvalidInput, InvalidState, NotFound
from core.languages import language_current
from core.ratelimit import rate_limit
from seats.geocoding import Location
from sessions.models import CanvassSession, Slot
from sessions.selectors import slot_move_choices
from sessions.services import meeting_point_managed_by, slot_claim_place, slot_is_bookable, slot_release_place
from volunteers.consent import CONSENT_EMAIL_VERSION, CONSENT_SMS_VERSION
from volunteers.events import (
    async_handlers,
    booking_event_announce,
    booking_event_new,
    booking_event_record,
    phone_challenge_announce,
)
from volunteers.models import Booking, BookingEvent, PhoneChallenge, Volunteer

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)
HOLDING_STATUSES = (Booking.Status.CONFIRMED,)


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    created: bool


def volunteer_get_or_create(*, phone: str, fields: dict) -> tuple[Volunteer, bool]:
    """The volunteer with this E.164 phone, locked until the transaction ends, created with `fields` if the
    phone is new; and whether this call created it.

    A stored volunteer's details are never changed here: only a proven phone changes them
    (volunteers.identity). Must run inside a transaction; concurrent calls never create two rows.
    """
    # ON CONFLICT DO UPDATE SET phone = phone: a no-op update that locks and returns the stored row.
    return upsert_returning(Volunteer(phone=phone, **fields), unique_fields=("phone",), update_fields=("phone",),
                            touch=False)


def volunteer_fields(*, name: str, location: Location, email: str = "", consent_sms: bool | None = None,
                     max_travel_km: float | None = None, now=None, consent_email: bool | None = None) -> dict:
    """What a sign-up or booking says about the volunteer (fields left out keep their stored value). Consent
    given is recorded with its time and the wording version shown (volunteers.consent)."""
    fields = {
        "name": name, "postcode": location.postcode, "lat": location.lat, "lng": location.lng,
        "seat_id": location.seat_id,
    }
    if email:
        fields["email"] = email
    if consent_sms is not None:
        fields.update(consent_fields(consent_sms=consent_sms, now=now))
    if consent_email:
        fields.update(consent_email_fields(consent_email=True, now=now))
    if max_travel_km is not None:
        fields["max_travel_km"] = max_travel_km
    return fields


def consent_fields(*, consent_sms: bool, now=None, version: str = CONSENT_SMS_VERSION) -> dict:
    if consent_sms:
        return {"consent_sms": True, "consent_sms_at": now or timezone.now(), "consent_sms_version": version}
    return {"consent_sms": False, "consent_sms_at": None, "consent_sms_version": ""}


def consent_email_fields(*, consent_email: bool, now=None, version: str = CONSENT_EMAIL_VERSION) -> dict:
    """Consent to email, with its time and wording version; giving it again lifts an earlier unsubscribe."""
    if consent_email:
        return {"consent_email": True, "consent_email_at": now or timezone.now(), "consent_email_version": version,
                "email_opted_out_at": None}
    return {"consent_email": False, "consent_email_at": None, "consent_email_version": ""}


def _overlapping_confirmed(*, volunteer: Volunteer, slot: Slot, exclude_booking_id: int | None = None):
    query = Booking.objects.filter(
        volunteer=volunteer, status__in=HOLDING_STATUSES, proven_at__isnull=False, slot__starts_at__lt=slot.ends_at,
        slot__ends_at__gt=slot.starts_at,
    ).exclude(slot_id=slot.pk)
    if exclude_booking_id:
        query = query.exclude(pk=exclude_booking_id)
    return query.select_related("slot__session__meeting_point", "slot__session__seat").first()


def _existing_and_clashing(*, volunteer: Volunteer, slot: Slot) -> tuple[Booking | None, bool]:
    """The volunteer's booking of this slot (locked), and whether a confirmed booking elsewhere overlaps it. Only a
    proven booking counts: an unproven hold may have been made by somebody else with this number, and must not
    stand in the way of the phone's owner (nor, through an error, say where they are)."""
    meta = Booking._meta
    columns = ", ".join(f'b."{field.column}"' for field in meta.concrete_fields)
    statuses = ", ".join(["%s"] * len(HOLDING_STATUSES))
    lock = " FOR UPDATE OF b" if connection.features.has_select_for_update_of else ""
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


def _set_status(booking: Booking, status: str, **extra) -> None:
    booking.status = status
    booking.version += 1
    for field, value in extra.items():
        setattr(booking, field, value)
    booking.save()


def booking_status_set(*, booking: Booking, status: str, **extra) -> None:
    """Give a locked booking a new status (and these fields), bumping its version; in the caller's transaction,
    which records the event. For dispatch's overflow, which moves bookings between slots."""
    _set_status(booking, status, **extra)


def booking_place(*, volunteer: Volunteer, slot: Slot, source: str = Booking.Source.DIRECT,
                  waitlist_when_full: bool = True, event_payload: dict | None = None,
                  volunteer_is_new: bool = False, proven: bool = False,
                  looked_up: tuple[Booking | None, bool] | None = None, approval: str | None = None,
                  said_name: str = "", language: str | None = None) -> BookingResult:
    """Book a locked volunteer onto a slot: confirmed if there is room, otherwise waitlisted.

    Must run inside a transaction with the volunteer row locked. Returns the existing active
    booking unchanged when there is one (idempotent). Raises Conflict for an overlapping
    confirmed booking, InvalidState for a cancelled or started slot. With waitlist_when_full
    False a full slot raises Conflict (code slot_full) instead of waitlisting. volunteer_is_new (the
    volunteer row was created in this transaction) spares the lookup of their other bookings. approval,
    when given, replaces the slot's own (approval_for), e.g. a host's approval carried to another slot. said_name:
    the first name a booking request typed (Booking.said_name), written with the place.
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
        clash = _overlapping_confirmed(volunteer=volunteer, slot=slot)
        raise Conflict(
            gettext("You are already booked on '%(title)s' at %(when)s, which overlaps this slot.") % {"title": clash.slot.session.title, "when": dateformat.format(timezone.localtime(clash.slot.starts_at), "D d M H:i")},
            code="overlapping_booking", fields={"slot": [gettext("Overlaps another confirmed booking.")]},
        )

    if existing is None and slot.confirmed_count < slot.capacity + slot.overbook:
        booking = _booking_confirm_then_claim(volunteer=volunteer, slot=slot, source=source, event_payload=event_payload,
                                              proven=proven, approval=approval, said_name=said_name,
                                              language=language)
        if booking is not None:
            return BookingResult(booking, created=True)

    now = timezone.now()
    # Full as counted: lapsed holds count as free (released now, their waitlist served first), and a proven
    # volunteer takes the place of the newest unproven request (whose place it was only while its code works).
    gave_way = None
    claimed = slot_claim_place(slot_id=slot.pk) or (
        slot_lapsed_release(slot_id=slot.pk, now=now) > 0 and slot_claim_place(slot_id=slot.pk))
    if not claimed and proven:
        gave_way = _unproven_hold_give_way(slot_id=slot.pk)
    if claimed or gave_way is not None:
        status, kind, extra = Booking.Status.CONFIRMED, BookingEvent.Kind.CONFIRMED, {"waitlisted_at": None}
    elif waitlist_when_full:
        status, kind, extra = Booking.Status.WAITLISTED, BookingEvent.Kind.WAITLISTED, {"waitlisted_at": now}
    else:
        raise Conflict(gettext("This slot is full."), code="slot_full", fields={"slot": [gettext("Full.")]})

    if language or existing is not None:  # a new row takes the active language as its default; a re-used one too
        extra["language"] = language or language_current()
    extra.update(proven_at=now if proven else None, approval=approval or approval_for(slot),
                 **({"said_name": said_name} if said_name else {}),
                 **({"held_since": None, "held_until": None} if proven else hold_new(now)))
    if existing is None:
        booking, _ = insert_or_get(Booking(volunteer=volunteer, slot=slot, status=status, source=source, **extra),
                                   unique_fields=("volunteer", "slot"))
    else:  # re-booking after a cancellation reuses the row: one booking per volunteer and slot
        _set_status(existing, status, source=source, cancelled_at=None, redirected_to=None, **extra)
        booking = existing
    booking_event_record(booking=booking, kind=kind, payload=event_payload)
    if gave_way is not None:
        _gave_way_record(gave_way, to=booking)
    return BookingResult(booking, created=True)


class _SlotFilledMeanwhile(Exception):
    pass


def approval_for(slot: Slot) -> str:
    """A new booking's approval: pending when the slot's session asks its host to approve each volunteer."""
    return Booking.Approval.PENDING if slot.session.requires_approval else Booking.Approval.NOT_REQUIRED


def _booking_confirm_then_claim(*, volunteer: Volunteer, slot: Slot, source: str,
                                event_payload: dict | None, proven: bool = False,
                                approval: str | None = None, said_name: str = "",
                                language: str | None = None) -> Booking | None:
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
                                               **({"language": language} if language else {}),
                                               **({} if proven else hold_new(now))),
                                       unique_fields=("volunteer", "slot"))
            booking_event_record(booking=booking, kind=BookingEvent.Kind.CONFIRMED, payload=event_payload)
            if not slot_claim_place(slot_id=slot.pk):
                raise _SlotFilledMeanwhile
    except _SlotFilledMeanwhile:
        return None  # rolled back to the savepoint, on_commit callbacks included
    return booking


SLOT_RELATED = ("session__meeting_point", "session__seat")


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
        except _SlotFilledMeanwhile:
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
    or the slot looked full: _booking_hold_in then decides, in the same transaction. Raises _SlotFilledMeanwhile,
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
        raise _SlotFilledMeanwhile
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
        WITH room AS (SELECT 1 FROM {quote(Slot._meta.db_table)} WHERE id = %s AND confirmed_count < capacity + overbook),
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
        slot_release_place(slot_id=booking.slot_id)
    _set_status(booking, Booking.Status.CANCELLED, cancelled_at=timezone.now())
    booking_event_record(booking=booking, kind=BookingEvent.Kind.CANCELLED, payload={"released_place": was_confirmed})
    return booking


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
        slot_release_place(slot_id=old.slot_id)
    _set_status(old, Booking.Status.CANCELLED, cancelled_at=timezone.now())
    same_session = slot.session_id == old.slot.session_id
    carried = Booking.Approval.APPROVED if old.approval == Booking.Approval.APPROVED and same_session else None
    # Within one session the host's front room keeps its volunteer: no "booked" and "cancelled" for them.
    quiet = {"host_quiet": True} if same_session else {}
    result = booking_place(volunteer=volunteer, slot=slot, waitlist_when_full=waitlist_when_full, proven=True,
                           approval=carried, event_payload={"swapped_from": old.pk, **quiet})
    new = result.booking
    # by_request: the new booking's text says it all; no "cancelled" text for the old one.
    booking_event_record(booking=old, kind=BookingEvent.Kind.CANCELLED,
                         payload={"released_place": was_confirmed, "swapped_to": new.pk, "by_request": True, **quiet})
    if volunteer.phone_verified_at is None:
        Volunteer.objects.filter(pk=volunteer.pk).update(phone_verified_at=timezone.now())
    if was_confirmed:
        booking_waitlist_promote(slot_id=old.slot_id)
    new.volunteer = volunteer
    return new


@transaction.atomic
def booking_attendance_confirm(*, booking_id: int) -> Booking:
    """Mark that a confirmed volunteer said they will come (a signed reply from their phone, which proves the
    booking too). Idempotent."""
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status != Booking.Status.CONFIRMED:
        raise InvalidState(gettext("Only a confirmed booking can be confirmed."), code="not_confirmed")
    if booking.attendance_confirmed_at is None or booking.proven_at is None:
        now = timezone.now()
        booking.attendance_confirmed_at = booking.attendance_confirmed_at or now
        booking.proven_at = booking.proven_at or now
        booking.save(update_fields=["attendance_confirmed_at", "proven_at", "updated_at"])
    return booking


ATTENDANCE_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)


@transaction.atomic
def booking_attendance_record(*, user, session_id: int, booking_id: int, attended: bool) -> Booking:
    """The host (or a coordinator) records whether a confirmed volunteer turned up, once the slot has started.

    A later call corrects an earlier one; repeating the same answer changes nothing. The place stays taken
    either way. Only the session's host and coordinators may record it; others get NotFound, as for the
    session itself."""
    booking = (Booking.objects.select_for_update(of=("self",)).select_related("slot__session__meeting_point")
               .filter(pk=booking_id, slot__session_id=session_id).first() if pk_in_range(Booking, booking_id) else None)
    if booking is None or not meeting_point_managed_by(user=user, meeting_point=booking.slot.session.meeting_point):
        raise NotFound(gettext("No such booking in this session."), code="not_found")
    if booking.status not in ATTENDANCE_STATUSES:
        raise InvalidState(gettext("A %(status)s booking has no attendance to record.") % {"status": booking.get_status_display().lower()},
                           code="not_confirmed", fields={"attended": [gettext("Only confirmed bookings.")]})
    if booking.slot.starts_at > timezone.now():
        raise InvalidState(gettext("The slot has not started yet."), code="slot_not_started",
                           fields={"attended": [gettext("Record attendance once the slot has started.")]})
    status, kind = ((Booking.Status.ATTENDED, BookingEvent.Kind.ATTENDED) if attended
                    else (Booking.Status.NO_SHOW, BookingEvent.Kind.NO_SHOW))
    if booking.status != status:
        _set_status(booking, status)
        booking_event_record(booking=booking, kind=kind, payload={"recorded_by": user.pk})
    return booking


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
            .filter(slot=slot, status=Booking.Status.WAITLISTED).exclude(_lapsed(timezone.now()))
            .alias(unproven=ExpressionWrapper(Q(proven_at__isnull=True), output_field=BooleanField()))
            .select_related("volunteer")
            .order_by("unproven", "waitlisted_at", "id")
        )
        for booking in waiting:
            if slot.confirmed_count >= slot.capacity + slot.overbook:
                break
            if _overlapping_confirmed(volunteer=booking.volunteer, slot=slot) is not None:
                continue  # they are busy elsewhere at that time; they keep their waitlist place
            if not slot_claim_place(slot_id=slot.pk):
                break
            slot.confirmed_count += 1
            _set_status(booking, Booking.Status.CONFIRMED, waitlisted_at=None)
            booking_event_record(booking=booking, kind=BookingEvent.Kind.PROMOTED)
            promoted.append(booking)
    return promoted


@transaction.atomic
def volunteer_delete(*, volunteer_id: int) -> None:
    """Erase a volunteer (a coordinator acting on a deletion request), their bookings with them."""
    volunteer = Volunteer.objects.select_for_update().filter(pk=volunteer_id).first()
    if volunteer is not None:
        _release_before_delete(Booking.objects.filter(volunteer=volunteer))
        volunteer.delete()


@transaction.atomic
def bookings_delete(*, booking_ids: list[int]) -> None:
    """Delete bookings outright (a coordinator cleaning up); active ones are cancelled first."""
    bookings = Booking.objects.filter(pk__in=booking_ids)
    _release_before_delete(bookings)
    bookings.delete()


def _release_before_delete(bookings) -> None:
    """Cancel the active bookings about to be deleted, so their places go back to the slots, and promote
    those slots' waitlists in the same transaction. (Their cancellation events are deleted with them, so
    the handler that would promote the waitlist after commit, or the sweep, would never see them.)"""
    freed = set()
    for booking in bookings.select_for_update().filter(status__in=ACTIVE_STATUSES):
        if booking.status == Booking.Status.CONFIRMED:
            freed.add(booking.slot_id)
        booking_cancel_locked(booking=booking)
    for slot_id in sorted(freed):
        booking_waitlist_promote(slot_id=slot_id)


def bookings_release_before_delete(*, bookings) -> None:
    """Cancel the active bookings of this queryset about to be deleted and promote their slots' waitlists, in the
    caller's transaction (volunteers.privacy's erasure)."""
    _release_before_delete(bookings)


def bookings_tell_of_move(*, meeting_point) -> int:
    """Inside the transaction that moved a meeting point: each confirmed booking of a slot there that has not
    ended gets a new version and a venue_moved event, so its volunteer is texted the new address. Texts and
    reminders written for the old address belong to the old version and are no longer sent."""
    count = 0
    for booking in Booking.objects.select_for_update(of=("self",)).filter(
        slot__session__meeting_point=meeting_point, slot__session__status=CanvassSession.Status.PUBLISHED,
        slot__ends_at__gt=timezone.now(), status=Booking.Status.CONFIRMED,
    ):
        booking.version += 1
        booking.save(update_fields=["version", "updated_at"])
        booking_event_record(booking=booking, kind=BookingEvent.Kind.VENUE_MOVED)
        count += 1
    return count


def bookings_tell_of_reschedule(*, slot) -> int:
    """Inside the transaction that moved a slot to new times: each confirmed booking on it gets a new version and a
    slot_rescheduled event, so its volunteer is texted the new time; texts and reminders of the old version are no
    longer sent."""
    count = 0
    for booking in Booking.objects.select_for_update(of=("self",)).filter(slot=slot, status=Booking.Status.CONFIRMED):
        booking.version += 1
        booking.save(update_fields=["version", "updated_at"])
        booking_event_record(booking=booking, kind=BookingEvent.Kind.SLOT_RESCHEDULED)
        count += 1
    return count


def bookings_cancel_for_session(*, session, cancelled_by=None) -> int:
    """Cancel every active booking of a cancelled session (inside its transaction). Emits session_cancelled per booking."""
    now = timezone.now()
    count = 0
    for booking in Booking.objects.select_for_update().filter(slot__session=session, status__in=ACTIVE_STATUSES):
        _set_status(booking, Booking.Status.CANCELLED, cancelled_at=now)
        booking_event_record(booking=booking, kind=BookingEvent.Kind.SESSION_CANCELLED)
        count += 1
    return count


def bookings_cancel_for_slot(*, slot) -> int:
    """Cancel every active booking of a slot its host removed (inside its transaction), each told as for a
    cancelled session (a session_cancelled event: the same text, host-caused, to proven phones only)."""
    now = timezone.now()
    count = 0
    for booking in Booking.objects.select_for_update().filter(slot=slot, status__in=ACTIVE_STATUSES):
        _set_status(booking, Booking.Status.CANCELLED, cancelled_at=now)
        booking_event_record(booking=booking, kind=BookingEvent.Kind.SESSION_CANCELLED)
        count += 1
    return count


def booking_event_dispatch(*, event_id: int) -> bool:
    """Run the asynchronous handlers for one event, then mark it processed; False if it already was.

    Handlers run before the mark, so a worker killed half-way leaves the event unprocessed and the
    sweep hands it out again: at least once, which is safe because every handler is idempotent.
    """
    event = BookingEvent.objects.select_related("booking").filter(pk=event_id, processed_at__isnull=True).first()
    if event is None:
        return False
    for handler in async_handlers(event.kind):
        handler(event)
    return bool(BookingEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(processed_at=timezone.now()))


def booking_events_requeue_stale(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue events whose processing task was lost (broker down at commit, worker killed)."""
    from volunteers.tasks import booking_event_process

    cutoff = timezone.now() - older_than
    ids = list(
        BookingEvent.objects.filter(processed_at__isnull=True, created_at__lt=cutoff).values_list("id", flat=True)[:1000]
    )
    for index, event_id in enumerate(ids):
        if not enqueue(booking_event_process, (event_id,), what=f"booking event {event_id}"):
            return index  # the broker is down again: the next sweep tries
    return len(ids)


RELEASING_KINDS = (BookingEvent.Kind.CANCELLED, BookingEvent.Kind.RELEASED, BookingEvent.Kind.REFUSED)


def waitlist_promote_after_release(event: BookingEvent) -> None:
    """Async handler: a confirmed place was given up (cancelled, released unproven, refused), so offer it to the waitlist."""
    if event.kind in RELEASING_KINDS and event.payload.get("released_place"):
        booking_waitlist_promote(slot_id=event.booking.slot_id)


def bookings_for_volunteer_upcoming(*, volunteer: Volunteer):
    return (
        Booking.objects.filter(volunteer=volunteer, status__in=ACTIVE_STATUSES, slot__ends_at__gt=timezone.now())
        .select_related("slot__session__meeting_point", "slot__session__seat")
        .order_by("slot__starts_at")
    )





def volunteer_sms_flags_set(*, volunteer_id: int, opted_out: bool | None = None, phone_invalid: bool | None = None) -> None:
    """Record what the SMS channel learnt about a volunteer's number (opt-out/in, invalid). Idempotent."""
    changes = {}
    if opted_out is not None:
        changes["sms_opted_out"] = opted_out
    if phone_invalid is not None:
        changes["phone_invalid"] = phone_invalid
    if changes:
        Volunteer.objects.filter(pk=volunteer_id).update(**changes, updated_at=timezone.now())


def _managed_booking(*, user, session_id: int, booking_id: int) -> Booking:
    """The booking, locked, if it belongs to the session and the user runs it; NotFound otherwise (as for the session)."""
    booking = (Booking.objects.select_for_update(of=("self",))
               .select_related("volunteer", "slot__session__meeting_point", "slot__session__seat")
               .filter(pk=booking_id, slot__session_id=session_id).first() if pk_in_range(Booking, booking_id) else None)
    if booking is None or not meeting_point_managed_by(user=user, meeting_point=booking.slot.session.meeting_point):
        raise NotFound(gettext("No such booking in this session."), code="not_found")
    return booking


@transaction.atomic
def booking_approve(*, user, session_id: int, booking_id: int) -> Booking:
    """The session's host (or a coordinator) approves a volunteer waiting for it: the booking gets a new version
    and a booking_approved event, which texts the volunteer (the address, if they hold a place). Idempotent."""
    booking = _managed_booking(user=user, session_id=session_id, booking_id=booking_id)
    if booking.approval == Booking.Approval.APPROVED:
        return booking
    if booking.approval != Booking.Approval.PENDING or booking.status not in ACTIVE_STATUSES:
        raise InvalidState(gettext("Only a booking waiting for approval can be approved."), code="not_awaiting_approval")
    _approve_locked(booking, payload={"by": user.pk})
    return booking


def _approve_locked(booking: Booking, *, payload: dict) -> None:
    booking.approval = Booking.Approval.APPROVED
    booking.version += 1
    booking.save(update_fields=["approval", "version", "updated_at"])
    booking_event_record(booking=booking, kind=BookingEvent.Kind.APPROVED, payload=payload)


def bookings_approve_for_session(*, session, by=None) -> int:
    """Inside the transaction that turned the session's requires_approval off: each active booking still waiting
    for the host's approval, on a slot that has not ended, is approved as booking_approve does it (a new version
    and a booking_approved event, which texts the volunteer). Returns how many; a repeat finds none."""
    payload = {"by": getattr(by, "pk", None), "approval_dropped": True}
    count = 0
    for booking in Booking.objects.select_for_update(of=("self",)).filter(
        slot__session=session, approval=Booking.Approval.PENDING, status__in=ACTIVE_STATUSES,
        slot__ends_at__gt=timezone.now(),
    ).order_by("id"):
        _approve_locked(booking, payload=payload)
        count += 1
    return count


@transaction.atomic
def booking_refuse(*, user, session_id: int, booking_id: int) -> Booking:
    """The host refuses a volunteer waiting for approval: the booking is cancelled, a held place goes back to
    the slot and the waitlist is promoted after commit, and the volunteer is texted. Idempotent."""
    booking = _managed_booking(user=user, session_id=session_id, booking_id=booking_id)
    if booking.approval == Booking.Approval.REFUSED:
        return booking
    if booking.approval != Booking.Approval.PENDING or booking.status not in ACTIVE_STATUSES:
        raise InvalidState(gettext("Only a booking waiting for approval can be refused."), code="not_awaiting_approval")
    _booking_end(booking, kind=BookingEvent.Kind.REFUSED, approval=Booking.Approval.REFUSED, by=user.pk)
    return booking


def _booking_end(booking: Booking, *, kind: str, **fields) -> None:
    """Cancel an active, locked booking with its own event kind (released, refused): the place is given back and
    the event's released_place has the waitlist promoted after commit."""
    was_confirmed = booking.status == Booking.Status.CONFIRMED
    if was_confirmed:
        slot_release_place(slot_id=booking.slot_id)
    by = fields.pop("by", None)
    _set_status(booking, Booking.Status.CANCELLED, cancelled_at=timezone.now(), **fields)
    payload = {"released_place": was_confirmed}
    if by is not None:
        payload["by"] = by
    booking_event_record(booking=booking, kind=kind, payload=payload)


# --- Unproven holds ---------------------------------------------------------------------------------------------
# A booking request holds its place (or waitlist place) only while its code works: from held_since until
# held_until (UNPROVEN_HOLD_MINUTES, extended by a new code up to UNPROVEN_HOLD_MAX_MINUTES after held_since).
# A lapsed hold counts as free at once: whoever finds the slot full releases the slot's lapsed holds first
# (slot_lapsed_release); the beat sweep (bookings_release_unproven) tidies up the rest. A proven volunteer always
# gets a place held only by unproven requests: the newest goes back to waiting (_unproven_hold_give_way).


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


def _lapsed(now) -> Q:
    return Q(proven_at__isnull=True, held_until__lte=now)


LAPSED_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat")


def slot_lapsed_release(*, slot_id: int, now=None) -> int:
    """Release the places on one slot whose unproven hold has lapsed, now (not at the sweep's next turn), and
    offer them to the slot's waitlist first. Inside the caller's transaction; returns how many were released.
    Rows being proven or released meanwhile are skipped (SKIP LOCKED)."""
    now = now or timezone.now()
    if not _lapsed_on_slot(slot_id=slot_id, now=now):
        return 0
    due = Booking.objects.filter(_lapsed(now), slot_id=slot_id, status=Booking.Status.CONFIRMED)
    lapsed = list(due.select_for_update(of=("self",), skip_locked=True).select_related(*LAPSED_RELATED)
                  .order_by("id"))
    for booking in lapsed:
        _booking_end(booking, kind=BookingEvent.Kind.RELEASED)
    if lapsed:
        booking_waitlist_promote(slot_id=slot_id)
    return len(lapsed)


def _lapsed_on_slot(*, slot_id: int, now) -> bool:
    """Whether a confirmed place on the slot is held by an unproven request whose hold has lapsed (_lapsed)."""
    # Most full slots have nothing lapsed: a plain EXISTS first, before the locked read with its joins (that read
    # cost a request to a full slot most of its time), as a statement built once (the ORM's exists() still cost
    # that request about 0.5 ms of CPU): BENCHMARKS.md, "Safety checks: the cost to a booking and a proof".
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT 1 FROM {Booking._meta.db_table} WHERE slot_id = %s AND status = %s AND proven_at IS NULL
                AND held_until <= %s LIMIT 1""",
            [slot_id, Booking.Status.CONFIRMED, connection.ops.adapt_datetimefield_value(now)])
        return cursor.fetchone() is not None


def _unproven_hold_give_way(*, slot_id: int) -> Booking | None:
    """For a proven volunteer finding the slot full: the newest place held by an unproven request goes back to
    the waitlist (keeping its turn by its request time), its place passing to the caller (the slot's count
    does not change, so nothing can overbook). None if every place is proven. Skips rows locked meanwhile (being
    proven: they keep their place)."""
    booking = (Booking.objects.select_for_update(of=("self",), skip_locked=True)
               .filter(slot_id=slot_id, status=Booking.Status.CONFIRMED, proven_at__isnull=True,
                       held_until__isnull=False).order_by("-held_since", "-id").first())
    if booking is None:
        return None
    _set_status(booking, Booking.Status.WAITLISTED, waitlisted_at=booking.held_since or booking.created_at)
    return booking


def _gave_way_record(booking: Booking, *, to: Booking) -> None:
    # Quiet (by_request): the phone was never proven, and its booking page says where it stands.
    booking_event_record(booking=booking, kind=BookingEvent.Kind.WAITLISTED,
                         payload={"by_request": True, "gave_way_to": to.pk})


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
                booking_place(volunteer=volunteer, slot=slot, proven=True)
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
    gave_way = _unproven_hold_give_way(slot_id=slot.pk)
    if gave_way is None:
        return False
    _set_status(booking, Booking.Status.CONFIRMED, waitlisted_at=None)
    booking_event_record(booking=booking, kind=BookingEvent.Kind.PROMOTED)
    _gave_way_record(gave_way, to=booking)
    return True


# The two reads below are statements built once: in bench/request_cpu.py's proofs (bookings requested before they
# are proven, so slots fill with unproven holds) about one proof in ten is a proven waiter taking such a place, and
# the ORM's compilation of this locked read with its joins and of _overlapping_confirmed was over a third of that
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
    """Whether ``_overlapping_confirmed(volunteer=..., slot=slot)`` would find a booking."""
    statuses = ", ".join(["%s"] * len(HOLDING_STATUSES))
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
    (_unproven_hold_give_way) are both such places. Unlocked: a hold another transaction writes meanwhile is
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


def unproven_release_due(*, now=None):
    """Active bookings whose unproven hold has lapsed (held_until passed). Slots that have ended are left as they
    are."""
    now = now or timezone.now()
    return Booking.objects.filter(_lapsed(now), status__in=ACTIVE_STATUSES, slot__ends_at__gt=now)


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
            _booking_end(booking, kind=BookingEvent.Kind.RELEASED)
            released += 1
    if released:
        logger.info("released %d unproven bookings", released)
    return released

"""Writes and rules for volunteers and bookings.

Capacity is guarded twice: the conditional UPDATE in sessions.services.slot_claim_place, and
the database check constraint slot_not_overbooked. A volunteer's own bookings are serialised by
locking their Volunteer row, which makes "same slot twice" and "two overlapping slots" safe
under concurrent requests.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidState, NotFound
from seats.geocoding import Location, postcode_locate
from sessions.models import Slot
from sessions.services import slot_claim_place, slot_is_bookable, slot_release_place
from volunteers.events import async_handlers, booking_event_record
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.phones import phone_normalise

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)
HOLDING_STATUSES = (Booking.Status.CONFIRMED,)


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    created: bool


def volunteer_upsert(*, phone: str, name: str, location: Location, email: str = "", consent_sms: bool | None = None,
                     max_travel_km: float | None = None) -> Volunteer:
    """Create or update the volunteer with this E.164 phone and return it locked (FOR UPDATE).

    Must run inside a transaction. Concurrent calls for the same phone never create two rows.
    """
    fields = {
        "name": name, "postcode": location.postcode, "lat": location.lat, "lng": location.lng,
        "seat_id": location.seat_id,
    }
    if email:
        fields["email"] = email
    if consent_sms is not None:
        fields["consent_sms"] = consent_sms
    if max_travel_km is not None:
        fields["max_travel_km"] = max_travel_km
    Volunteer.objects.bulk_create(
        [Volunteer(phone=phone, **fields)], update_conflicts=True, unique_fields=["phone"], update_fields=list(fields)
    )
    return Volunteer.objects.select_for_update().get(phone=phone)


def _overlapping_confirmed(*, volunteer: Volunteer, slot: Slot, exclude_booking_id: int | None = None):
    query = Booking.objects.filter(
        volunteer=volunteer, status__in=HOLDING_STATUSES, slot__starts_at__lt=slot.ends_at, slot__ends_at__gt=slot.starts_at
    ).exclude(slot_id=slot.pk)
    if exclude_booking_id:
        query = query.exclude(pk=exclude_booking_id)
    return query.select_related("slot__session").first()


def _set_status(booking: Booking, status: str, **extra) -> None:
    booking.status = status
    booking.version += 1
    for field, value in extra.items():
        setattr(booking, field, value)
    booking.save()


def booking_place(*, volunteer: Volunteer, slot: Slot, source: str = Booking.Source.DIRECT,
                  waitlist_when_full: bool = True, event_payload: dict | None = None) -> BookingResult:
    """Book a locked volunteer onto a slot: confirmed if there is room, otherwise waitlisted.

    Must run inside a transaction with the volunteer row locked. Returns the existing active
    booking unchanged when there is one (idempotent). Raises Conflict for an overlapping
    confirmed booking, InvalidState for a cancelled or started slot. With waitlist_when_full
    False a full slot raises Conflict (code slot_full) instead of waitlisting.
    """
    slot_is_bookable(slot)
    existing = Booking.objects.select_for_update().filter(volunteer=volunteer, slot=slot).first()
    if existing is not None:
        existing.volunteer, existing.slot = volunteer, slot  # already loaded: spare the serializer the queries
    if existing is not None and existing.status in ACTIVE_STATUSES:
        return BookingResult(existing, created=False)

    clash = _overlapping_confirmed(volunteer=volunteer, slot=slot)
    if clash is not None:
        raise Conflict(
            f"You are already booked on '{clash.slot.session.title}' at "
            f"{timezone.localtime(clash.slot.starts_at):%a %d %b %H:%M}, which overlaps this slot.",
            code="overlapping_booking", fields={"slot": ["Overlaps another confirmed booking."]},
        )

    now = timezone.now()
    if slot_claim_place(slot_id=slot.pk):
        status, kind, extra = Booking.Status.CONFIRMED, BookingEvent.Kind.CONFIRMED, {"waitlisted_at": None}
    elif waitlist_when_full:
        status, kind, extra = Booking.Status.WAITLISTED, BookingEvent.Kind.WAITLISTED, {"waitlisted_at": now}
    else:
        raise Conflict("This slot is full.", code="slot_full", fields={"slot": ["Full."]})

    if existing is None:
        booking = Booking.objects.create(volunteer=volunteer, slot=slot, status=status, source=source, **extra)
    else:  # re-booking after a cancellation reuses the row: one booking per volunteer and slot
        _set_status(existing, status, source=source, cancelled_at=None, redirected_to=None, **extra)
        booking = existing
    booking_event_record(booking=booking, kind=kind, payload=event_payload)
    return BookingResult(booking, created=True)


def booking_create(*, slot_id: int, name: str, phone: str, postcode: str, email: str = "",
                   consent_sms: bool = False) -> BookingResult:
    """Book a slot without an account. Emits booking_confirmed or booking_waitlisted after commit. Idempotent per (phone, slot)."""
    phone = phone_normalise(phone)
    location = postcode_locate(postcode)
    with transaction.atomic():
        slot = Slot.objects.select_related("session__meeting_point", "session__seat").filter(pk=slot_id).first()
        if slot is None:
            raise NotFound("No such slot.", fields={"slot": ["Unknown slot."]})
        volunteer = volunteer_upsert(phone=phone, name=name, location=location, email=email, consent_sms=consent_sms)
        return booking_place(volunteer=volunteer, slot=slot)


def _locked_booking(*, manage_token: str) -> Booking:
    booking = Booking.objects.select_for_update().filter(manage_token=manage_token).first()
    if booking is None:
        raise NotFound("No booking with this link.")
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
        raise InvalidState(f"A {booking.get_status_display().lower()} booking cannot be cancelled.", code="not_cancellable")
    was_confirmed = booking.status == Booking.Status.CONFIRMED
    if was_confirmed:
        slot_release_place(slot_id=booking.slot_id)
    _set_status(booking, Booking.Status.CANCELLED, cancelled_at=timezone.now())
    booking_event_record(booking=booking, kind=BookingEvent.Kind.CANCELLED, payload={"released_place": was_confirmed})
    return booking


@transaction.atomic
def booking_attendance_confirm(*, booking_id: int) -> Booking:
    """Mark that a confirmed volunteer said they will come. Idempotent."""
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status != Booking.Status.CONFIRMED:
        raise InvalidState("Only a confirmed booking can be confirmed.", code="not_confirmed")
    if booking.attendance_confirmed_at is None:
        booking.attendance_confirmed_at = timezone.now()
        booking.save(update_fields=["attendance_confirmed_at", "updated_at"])
    return booking


def booking_waitlist_promote(*, slot_id: int) -> list[Booking]:
    """Fill free places from the waitlist, first come first served. Emits booking_promoted for each. Safe to repeat."""
    promoted: list[Booking] = []
    with transaction.atomic():
        slot = Slot.objects.select_for_update().select_related("session").filter(pk=slot_id).first()
        if slot is None:
            return promoted
        try:
            slot_is_bookable(slot)
        except InvalidState:
            return promoted
        waiting = (
            Booking.objects.select_for_update(skip_locked=True)
            .filter(slot=slot, status=Booking.Status.WAITLISTED)
            .select_related("volunteer")
            .order_by("waitlisted_at", "id")
        )
        for booking in waiting:
            if slot.confirmed_count >= slot.capacity:
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


def bookings_cancel_for_session(*, session, cancelled_by=None) -> int:
    """Cancel every active booking of a cancelled session (inside its transaction). Emits session_cancelled per booking."""
    now = timezone.now()
    count = 0
    for booking in Booking.objects.select_for_update().filter(slot__session=session, status__in=ACTIVE_STATUSES):
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
    for handler in async_handlers():
        handler(event)
    return bool(BookingEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(processed_at=timezone.now()))


def booking_events_requeue_stale(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue events whose processing task was lost (broker down at commit, worker killed)."""
    from volunteers.tasks import booking_event_process

    cutoff = timezone.now() - older_than
    ids = list(
        BookingEvent.objects.filter(processed_at__isnull=True, created_at__lt=cutoff).values_list("id", flat=True)[:1000]
    )
    for event_id in ids:
        booking_event_process.delay(event_id)
    return len(ids)


def waitlist_promote_after_release(event: BookingEvent) -> None:
    """Async handler: a confirmed place was given up, so offer it to the waitlist."""
    if event.kind == BookingEvent.Kind.CANCELLED and event.payload.get("released_place"):
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

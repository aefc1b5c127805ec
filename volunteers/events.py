"""Booking domain events.

``booking_event_record`` writes a BookingEvent row in the caller's transaction and sends the
``booking_event_recorded`` signal synchronously, so receivers can write rows that must commit or
roll back with the change (the SMS outbox). After commit the event is handed to Celery
(``booking_event_process``), which runs the asynchronous handlers registered with
``on_booking_event``; dispatch uses that for overflow and waitlist promotion.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from core.broker import enqueue
from core.db import copy_insert, ids_reserve, insert_or_get
from volunteers.models import Booking, BookingEvent, PhoneChallenge

logger = logging.getLogger(__name__)

booking_event_recorded = Signal()  # sender=BookingEvent, event=BookingEvent
# A phone challenge was written or its code renewed: the code text must be written in the same transaction.
phone_challenge_issued = Signal()  # sender=PhoneChallenge, challenge=PhoneChallenge, code=str, situation=str
# The same for many events recorded at once (assignment commits): receivers should write in bulk.
booking_events_recorded = Signal()  # sender=BookingEvent, events=list[RecordedEvent]
# A booking's phone was proven (the code typed or the private link opened), inside that transaction: what waited
# on the proof (an email about the booking: the address it goes to is not proven by itself) can go now.
booking_proven = Signal()  # sender=Booking, booking=Booking (with its volunteer and slot's session loaded)
# The code applied a request's email to the volunteer of a booking proven before (by the link): the address is
# proven now, so what waited on it (the volunteer's confirmation email) can go, once. Not a second proof: the
# host and webhooks heard of the booking with booking_proven.
booking_email_proven = Signal()  # sender=Booking, booking=Booking (as booking_proven's)

EVENT_BATCH = 500


class RecordedEvent(NamedTuple):
    """A booking event written in bulk, without a model instance per row (their payloads are shared)."""

    id: int
    booking_id: int
    kind: str
    version: int
    payload: dict


# (handler, the event kinds it handles or None for all)
_async_handlers: list[tuple[Callable[[BookingEvent], None], frozenset[str] | None]] = []


def on_booking_event(handler: Callable[[BookingEvent], None], *,
                     kinds: Iterable[str] | None = None) -> Callable[[BookingEvent], None]:
    """Register an asynchronous handler, run by a Celery worker after the change commits, for events
    of `kinds` (all kinds when None). Events that no handler wants are recorded as processed at once,
    so they cost no Celery message."""
    if all(registered is not handler for registered, _ in _async_handlers):
        _async_handlers.append((handler, frozenset(kinds) if kinds is not None else None))
    return handler


def off_booking_event(handler: Callable[[BookingEvent], None]) -> None:
    _async_handlers[:] = [(registered, kinds) for registered, kinds in _async_handlers if registered is not handler]


def async_handlers(kind: str | None = None) -> list[Callable[[BookingEvent], None]]:
    """The handlers registered for events of `kind` (every handler when None)."""
    return [handler for handler, kinds in _async_handlers if kind is None or kinds is None or kind in kinds]


def booking_event_new(*, booking: Booking, kind: str, payload: dict | None = None) -> BookingEvent:
    """The unsaved event for the booking's current version, already marked processed if no handler wants it."""
    return BookingEvent(booking=booking, kind=kind, version=booking.version, payload=payload or {},
                        processed_at=None if async_handlers(kind) else timezone.now())


def booking_event_record(*, booking: Booking, kind: str, payload: dict | None = None) -> BookingEvent:
    """Record an event for the booking's current version; a repeat of the same (kind, version) is a no-op."""
    event, created = insert_or_get(booking_event_new(booking=booking, kind=kind, payload=payload),
                                   unique_fields=("booking", "kind", "version"))
    if created:
        booking_event_announce(event)
    return event


def booking_event_announce(event: BookingEvent) -> None:
    """After an event row is written: the synchronous signal now, the handlers' task after commit."""
    booking_event_recorded.send(sender=BookingEvent, event=event)
    if event.processed_at is None:
        from volunteers.tasks import booking_event_process

        transaction.on_commit(lambda: _enqueue(booking_event_process, event.pk))


def phone_challenge_announce(*, challenge: PhoneChallenge, code: str, situation: str) -> None:
    """After a challenge is written or given a new code: receivers (the SMS outbox) text the code now, in the
    caller's transaction. `situation` says what the text is about: booked, already_booked or signup."""
    phone_challenge_issued.send(sender=PhoneChallenge, challenge=challenge, code=code, situation=situation)


def booking_proven_announce(*, booking: Booking) -> None:
    """After a booking's proven_at is first set, in the transaction that set it: receivers write what waited on
    the proof."""
    booking_proven.send(sender=Booking, booking=booking)


def booking_email_proven_announce(*, booking: Booking) -> None:
    """After the code applied a held email to a booking proven already, in that transaction: receivers write what
    waited on the address."""
    booking_email_proven.send(sender=Booking, booking=booking)


def booking_events_record_bulk(*, booking_versions: Sequence[tuple[int, int]], kind: str,
                               payload: dict | None = None) -> list[RecordedEvent]:
    """booking_event_record for many (booking id, version) pairs at once, written with COPY: the same rows,
    one ``booking_events_recorded`` signal, and (if a handler wants this kind) one processing task per batch
    after commit. A pair that
    already has this event raises IntegrityError, as bulk_create would."""
    if not booking_versions:
        return []
    payload = payload or {}
    wanted = bool(async_handlers(kind))
    ids = ids_reserve(BookingEvent, len(booking_versions))
    copy_insert(BookingEvent, ("id", "booking", "version"),
                ((pk, booking_id, version) for pk, (booking_id, version) in zip(ids, booking_versions, strict=True)),
                same={"kind": kind, "payload": payload, "processed_at": None if wanted else timezone.now()})
    events = [RecordedEvent(pk, booking_id, kind, version, payload)
              for pk, (booking_id, version) in zip(ids, booking_versions, strict=True)]
    booking_events_recorded.send(sender=BookingEvent, events=events)
    if wanted:
        from volunteers.tasks import booking_events_process

        transaction.on_commit(lambda: [_enqueue(booking_events_process, ids[i:i + EVENT_BATCH])
                                       for i in range(0, len(ids), EVENT_BATCH)])
    return events


def _enqueue(task, argument) -> None:
    # The broker may be down; the rows are committed and the sweep will pick them up later.
    enqueue(task, (argument,))

"""Booking domain events.

``booking_event_record`` writes a BookingEvent row in the caller's transaction and sends the
``booking_event_recorded`` signal synchronously, so receivers can write rows that must commit or
roll back with the change (the SMS outbox). After commit the event is handed to Celery
(``booking_event_process``), which runs the asynchronous handlers registered with
``on_booking_event``; dispatch uses that for overflow and waitlist promotion.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.dispatch import Signal

from core.db import insert_or_get
from volunteers.models import Booking, BookingEvent

logger = logging.getLogger(__name__)

booking_event_recorded = Signal()  # sender=BookingEvent, event=BookingEvent
# The same for many events recorded at once (assignment commits): receivers should write in bulk.
booking_events_recorded = Signal()  # sender=BookingEvent, events=list[BookingEvent]

EVENT_BATCH = 500

_async_handlers: list[Callable[[BookingEvent], None]] = []


def on_booking_event(handler: Callable[[BookingEvent], None]) -> Callable[[BookingEvent], None]:
    """Register an asynchronous handler, run by a Celery worker after the change commits."""
    if handler not in _async_handlers:
        _async_handlers.append(handler)
    return handler


def async_handlers() -> list[Callable[[BookingEvent], None]]:
    return list(_async_handlers)


def booking_event_record(*, booking: Booking, kind: str, payload: dict | None = None) -> BookingEvent:
    """Record an event for the booking's current version; a repeat of the same (kind, version) is a no-op."""
    event, created = insert_or_get(
        BookingEvent(booking=booking, kind=kind, version=booking.version, payload=payload or {}),
        unique_fields=("booking", "kind", "version"),
    )
    if created:
        booking_event_recorded.send(sender=BookingEvent, event=event)
        from volunteers.tasks import booking_event_process

        transaction.on_commit(lambda: _enqueue(booking_event_process, event.pk))
    return event


def booking_events_record_bulk(*, bookings: list[Booking], kind: str, payload: dict | None = None) -> list[BookingEvent]:
    """booking_event_record for many bookings at once (their current versions): the same rows, one
    ``booking_events_recorded`` signal, and one processing task per batch after commit."""
    events = BookingEvent.objects.bulk_create(
        [BookingEvent(booking=b, kind=kind, version=b.version, payload=payload or {}) for b in bookings],
        batch_size=2000,
    )
    if not events:
        return events
    booking_events_recorded.send(sender=BookingEvent, events=events)
    from volunteers.tasks import booking_events_process

    ids = [event.pk for event in events]
    transaction.on_commit(lambda: [_enqueue(booking_events_process, ids[i:i + EVENT_BATCH])
                                   for i in range(0, len(ids), EVENT_BATCH)])
    return events


def _enqueue(task, argument) -> None:
    # The broker may be down; the rows are committed and the sweep will pick them up later.
    try:
        task.delay(argument)
    except Exception:  # noqa: BLE001 - any broker failure must not fail the request
        logger.warning("could not enqueue %s(%s); the sweep will retry", task.name, argument, exc_info=True)

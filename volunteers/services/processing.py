"""Running booking events' asynchronous handlers, and re-enqueueing events whose task was lost."""

from datetime import timedelta

from django.utils import timezone

from core.broker import enqueue
from volunteers.events import async_handlers
from volunteers.models import BookingEvent


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

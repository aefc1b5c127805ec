"""Lifts follow their places: a booking that ends ends its lifts, in the same transaction as the change."""

from volunteers.models import BookingEvent

Kind = BookingEvent.Kind
# A place that ends: the driver's lift is cancelled, a rider's seat given back.
ENDING = frozenset({Kind.CANCELLED, Kind.SESSION_CANCELLED, Kind.REDIRECTED, Kind.RELEASED, Kind.REFUSED})


def receivers_connect() -> None:
    from travel.services import lifts_end_for_bookings
    from volunteers.events import booking_event_recorded, booking_events_recorded

    def on_event(sender, event, **kwargs):
        if event.kind in ENDING:
            lifts_end_for_bookings(booking_ids=[event.booking_id], reason=event.kind)

    def on_events(sender, events, **kwargs):
        by_kind: dict[str, list[int]] = {}
        for event in events:
            if event.kind in ENDING:
                by_kind.setdefault(event.kind, []).append(event.booking_id)
        for kind, booking_ids in by_kind.items():
            lifts_end_for_bookings(booking_ids=booking_ids, reason=kind)

    booking_event_recorded.connect(on_event, sender=BookingEvent, weak=False, dispatch_uid="travel.event")
    booking_events_recorded.connect(on_events, sender=BookingEvent, weak=False, dispatch_uid="travel.events")

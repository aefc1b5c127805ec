"""Lifts follow their places: a booking that ends ends its lifts, in the same transaction as the change."""

from volunteers.models import BookingEvent

Kind = BookingEvent.Kind
# A place that ends: the driver's lift is cancelled, a rider's seat given back.
# Released unconfirmed and an offer let lapse end a place too (volunteers.confirmations).
ENDING = frozenset({Kind.CANCELLED, Kind.SESSION_CANCELLED, Kind.REDIRECTED, Kind.RELEASED, Kind.REFUSED,
                    Kind.UNCONFIRMED, Kind.OFFER_LAPSED})


def receivers_connect() -> None:
    from travel.services import lifts_end_for_bookings
    from volunteers.events import booking_event_recorded, booking_events_recorded
    from volunteers.models import Volunteer
    from volunteers.privacy import personal_data_erased, personal_data_export_collect

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

    def on_export(sender, volunteer_id, **kwargs):
        return lifts_export_for_volunteer(volunteer_id=volunteer_id)

    personal_data_export_collect.connect(on_export, sender=Volunteer, weak=False, dispatch_uid="travel.export")

    # Erased: their lifts end (the other side told), and what their rows said of where they leave from is blanked.
    def on_erase(sender, volunteer_id, **kwargs):
        lifts_erase_for_volunteer(volunteer_id=volunteer_id)

    personal_data_erased.connect(on_erase, sender=Volunteer, weak=False, dispatch_uid="travel.erase")
    booking_event_recorded.connect(on_event, sender=BookingEvent, weak=False, dispatch_uid="travel.event")
    booking_events_recorded.connect(on_events, sender=BookingEvent, weak=False, dispatch_uid="travel.events")


def lifts_export_for_volunteer(*, volunteer_id: int) -> dict:
    """A volunteer's lifts for their data export: offered and asked for, without the links' tokens."""
    from travel.models import LiftOffer, LiftRequest

    offers = LiftOffer.objects.filter(booking__volunteer_id=volunteer_id).values(
        "booking_id", "seats", "pickup_kind", "pickup_label", "pickup_postcode", "departs_at", "invite_only",
        "woman_driver", "status", "created_at", "cancelled_at")
    requests = LiftRequest.objects.filter(booking__volunteer_id=volunteer_id).values(
        "booking_id", "status", "created_at", "answered_at", "ended_at")
    return {"lift_offers": list(offers), "lift_requests": list(requests)}


def lifts_erase_for_volunteer(*, volunteer_id: int) -> None:
    from travel.models import LiftDisclosure, LiftOffer
    from travel.services import lifts_end_for_bookings
    from volunteers.models import Booking

    booking_ids = list(Booking.objects.filter(volunteer_id=volunteer_id).values_list("pk", flat=True))
    lifts_end_for_bookings(booking_ids=booking_ids, reason="erased")
    LiftOffer.objects.filter(booking_id__in=booking_ids).update(pickup_label="", pickup_postcode="")
    LiftDisclosure.objects.filter(volunteer_id=volunteer_id).delete()  # what they were shown: theirs, erased too

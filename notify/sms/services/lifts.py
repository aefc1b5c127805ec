"""The texts of a lift (travel.events): each side hears of the other only by these relayed texts, never by
number. Keyed (place, kind, request id), so a change recorded twice texts once."""

from django.utils import timezone

from notify.sms.services.outbox import message_record
from notify.sms.texts import booking_render
from seats.postcodes import outcode_of
from travel import events
from travel.models import LiftDisclosure, LiftRequest
from travel.services import lift_disclosure_record


def _first_name(booking) -> str:
    parts = (booking.volunteer.name or "").split()
    return parts[0] if parts else ""


def _text(booking, kind: str, request: LiftRequest, **extra) -> None:
    message_record(booking=booking, kind=kind, version=request.pk, body=booking_render(kind, booking, **extra))


def lift_messages_record(*, request: LiftRequest, change: str) -> None:
    """The texts `change` to `request` sends, in the caller's transaction; the pickup point and the names they
    carry are written to the lift ledger (path sms.<kind>)."""
    offer = request.offer
    rider, driver = request.booking, offer.booking
    if change == events.REQUESTED:
        _text(driver, "lift_requested", request, rider_district=outcode_of(rider.volunteer.postcode or "") or "-")
    elif change == events.ACCEPTED:
        _text(rider, "lift_accepted", request, driver=_first_name(driver), pickup=offer.pickup_label,
              pickup_postcode=offer.pickup_postcode, departs=f"{timezone.localtime(offer.departs_at):%H:%M}")
        lift_disclosure_record(request=request, volunteer_id=rider.volunteer_id, shown=LiftDisclosure.Shown.PICKUP,
                               path="sms.lift_accepted")
        _text(driver, "lift_rider_joined", request, rider=_first_name(rider))
        lift_disclosure_record(request=request, volunteer_id=driver.volunteer_id, shown=LiftDisclosure.Shown.RIDER,
                               path="sms.lift_rider_joined")
    elif change == events.DECLINED:
        _text(rider, "lift_declined", request)
    elif change == events.OFFER_CANCELLED:
        _text(rider, "lift_cancelled", request)
    elif change == events.WITHDRAWN:
        _text(driver, "lift_rider_left", request)

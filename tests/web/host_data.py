"""A volunteer's booking for the hosts' tests, made through the services the volunteer pages call."""

from sessions.models import Slot
from volunteers.models import Booking


def book(slot: Slot, *, name: str, phone: str, postcode: str = "S10 1AA") -> Booking:
    """A confirmed, proven booking of `slot`: the request and the proof of phone once volunteers.identity exists
    (issue 11), the one-step booking before it."""
    try:
        from tests.factories import book as book_and_prove
    except ImportError:
        from volunteers.services import booking_create

        return booking_create(slot_id=slot.pk, name=name, phone=phone, postcode=postcode, consent_sms=True).booking
    return book_and_prove(slot, phone, name=name, postcode=postcode, proven=True)

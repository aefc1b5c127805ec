"""A volunteer's booking for the hosts' tests, made through the services the volunteer pages call."""

from sessions.models import Slot
from tests.factories import book as book_and_prove
from volunteers.models import Booking


def book(slot: Slot, *, name: str, phone: str, postcode: str = "S10 1AA") -> Booking:
    """A confirmed, proven booking of `slot`: the request, then the proof of phone (volunteers.identity)."""
    return book_and_prove(slot, phone, name=name, postcode=postcode, proven=True)

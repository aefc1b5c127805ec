import pytest

from core.db import insert_or_get
from tests.factories import SlotFactory
from volunteers.models import Booking, BookingEvent, Volunteer

pytestmark = pytest.mark.django_db


def test_insert_or_get_inserts_once_and_then_returns_the_existing_row():
    volunteer = Volunteer.objects.create(phone="+447400000009", name="V", postcode="S10 1AA", lat=53.38, lng=-1.5)
    booking = Booking.objects.create(volunteer=volunteer, slot=SlotFactory(), status=Booking.Status.CONFIRMED)
    first, created = insert_or_get(BookingEvent(booking=booking, kind="booking_confirmed", version=1,
                                                payload={"source": "direct"}), unique_fields=("booking", "kind", "version"))
    assert created and first.pk
    again, created_again = insert_or_get(BookingEvent(booking=booking, kind="booking_confirmed", version=1,
                                                      payload={"other": True}), unique_fields=("booking", "kind", "version"))
    assert not created_again and again.pk == first.pk
    stored = BookingEvent.objects.get()
    assert stored.payload == {"source": "direct"} and stored.created_at is not None and stored.processed_at is None

"""POST /api/bookings/<token>/swap/: the swap service behind the private link, every answer as the schema says."""

from datetime import timedelta

import pytest

from sessions.models import Slot
from tests.api.test_openapi_conformance import Schema
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
from tests.factories import book as book_slot
from volunteers.models import Booking

pytestmark = pytest.mark.django_db
PATH = "/api/bookings/{token}/swap/"


@pytest.fixture(scope="module")
def schema():
    return Schema()


@pytest.fixture
def slots(db):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    first = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, postcode="S10 1AA"), capacity=2)
    second = SlotFactory(session=first.session, starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=2),
                         capacity=1)
    return first, second


def test_swap_answers_the_new_booking_and_errors_in_the_one_shape(api, schema, slots):
    first, second = slots
    old = book_slot(first, "07400 400001", proven=True)
    url = f"/api/bookings/{old.manage_token}/swap/"

    bad = schema.check("POST", PATH, api.post(url, {"slot": "x"}, format="json"))
    assert bad["error"]["code"] == "invalid" and "slot" in bad["error"]["fields"]
    same = schema.check("POST", PATH, api.post(url, {"slot": first.pk}, format="json"))
    assert same["error"]["code"] == "same_slot" and same["error"]["fields"] == {"slot": ["Your slot already."]}
    unknown = schema.check("POST", PATH, api.post(url, {"slot": 999999999}, format="json"))
    assert unknown["error"]["code"] == "not_found"
    assert schema.check("POST", PATH, api.post("/api/bookings/not-a-link-at-all/swap/", {"slot": second.pk},
                                               format="json"))["error"]["code"] == "not_found"

    book_slot(second, "07400 400002", proven=True)  # second is now full
    full = api.post(url, {"slot": second.pk}, format="json")
    assert full.status_code == 409 and schema.check("POST", PATH, full)["error"]["code"] == "slot_full"
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CONFIRMED

    waiting = schema.check("POST", PATH, api.post(url, {"slot": second.pk, "waitlist": True}, format="json"))
    assert waiting["status"] == "waitlisted" and waiting["manage_token"] != old.manage_token
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CANCELLED
    assert Slot.objects.get(pk=first.pk).confirmed_count == 0
    again = schema.check("POST", PATH, api.post(url, {"slot": second.pk, "waitlist": True}, format="json"))
    assert again["manage_token"] == waiting["manage_token"]

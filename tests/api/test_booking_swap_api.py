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


# --- Moving is a booking ------------------------------------------------------------------------------------


def test_a_move_to_a_slot_the_move_page_does_not_offer_is_refused_naming_the_slot(api, schema, slots):
    first, second = slots
    old = book_slot(first, "07400 400001", proven=True)
    far = SlotFactory()  # another seat, not bordering this one
    later = SlotFactory(session__meeting_point=first.session.meeting_point,
                        starts_at=first.starts_at + timedelta(days=8), ends_at=first.ends_at + timedelta(days=8))
    for slot in (far, later):
        answer = api.post(f"/api/bookings/{old.manage_token}/swap/", {"slot": slot.pk}, format="json")
        assert answer.status_code == 400
        error = schema.check("POST", PATH, answer)["error"]
        assert error["code"] == "slot_not_offered" and list(error["fields"]) == ["slot"]
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CONFIRMED
    assert Booking.objects.filter(slot__in=[far, later]).count() == 0
    nearby = SlotFactory(session__meeting_point=first.session.meeting_point,
                         starts_at=first.starts_at + timedelta(days=6), ends_at=first.ends_at + timedelta(days=6))
    moved = api.post(f"/api/bookings/{old.manage_token}/swap/", {"slot": nearby.pk}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "confirmed"


def test_moves_count_against_the_phones_limits_like_new_requests(api, slots, ratelimit_clock):
    first, second = slots
    Slot.objects.filter(pk=second.pk).update(capacity=5)
    token = book_slot(first, "07400 400001", proven=True).manage_token
    for target in (second, first, second):
        answer = api.post(f"/api/bookings/{token}/swap/", {"slot": target.pk}, format="json")
        assert answer.status_code == 200, answer.content
        token = answer.json()["manage_token"]
    refused = api.post(f"/api/bookings/{token}/swap/", {"slot": first.pk}, format="json")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Booking.objects.get(manage_token=token).status == Booking.Status.CONFIRMED  # nothing changed


def test_a_move_within_a_session_tells_its_host_nothing_and_between_sessions_one_notice_each(
        api, slots, django_capture_on_commit_callbacks):
    from notify.email.models import EmailMessage

    first, second = slots
    old = book_slot(first, "07400 400001", proven=True)
    hosts_told = set(EmailMessage.objects.filter(host__isnull=False).values_list("pk", flat=True))
    moved = api.post(f"/api/bookings/{old.manage_token}/swap/", {"slot": second.pk}, format="json").json()
    assert not EmailMessage.objects.filter(host__isnull=False).exclude(pk__in=hosts_told).exists()
    elsewhere = SlotFactory(session__meeting_point=MeetingPointFactory(seat=first.session.seat, postcode="S10 1AA"),
                            starts_at=first.starts_at + timedelta(days=1), ends_at=first.ends_at + timedelta(days=1))
    api.post(f"/api/bookings/{moved['manage_token']}/swap/", {"slot": elsewhere.pk}, format="json")
    told = list(EmailMessage.objects.filter(host__isnull=False).exclude(pk__in=hosts_told)
                .values_list("host_id", "kind"))
    assert sorted(told) == sorted([(first.session.meeting_point.host_id, "host_cancelled"),
                                   (elsewhere.session.meeting_point.host_id, "host_booked")])

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from notify.sms.models import SmsMessage
from seats.geocoding import postcode_locate
from sessions.models import Slot
from tests.api.conftest import booking_body
from tests.conftest import without_metrics
from tests.factories import SlotFactory, book, book_via_api, next_mobile, texted_code
from volunteers.links import manage_url
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.serializers import (
    BookingSerializer,
    BookingSessionSerializer,
    BookingSlotSerializer,
    MeetingPlaceSerializer,
)
from volunteers.services import booking_place, volunteer_fields, volunteer_get_or_create

pytestmark = pytest.mark.django_db


def _book(api, slot, **body):
    return api.post(f"/api/slots/{slot.id}/bookings/", booking_body(**body), format="json")


def _proven(api, slot, **body) -> dict:
    return book_via_api(api, slot, **body)


def test_volunteer_asks_for_a_place_is_texted_a_code_and_sees_the_address_once_proven(api, slot):
    response = _book(api, slot)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == {"challenge", "phone", "expires_at"} and body["phone"] == "07*** ***456"
    booking = Booking.objects.get()
    assert booking.status == "confirmed" and booking.proven_at is None  # the place is held, unproven
    text = SmsMessage.objects.get(challenge__token=body["challenge"]).body
    assert texted_code(body["challenge"]) in text and manage_url(booking.manage_token) in text
    detail = api.post(f"/api/challenges/{body['challenge']}/verify/", {"code": texted_code(body["challenge"])},
                      format="json").json()
    assert detail["address"] == slot.session.meeting_point.address and detail["proven"] is True
    assert detail["meeting_place"]["host_first_name"] == "Hana"
    assert detail["manage_token"] == booking.manage_token
    assert Volunteer.objects.get().phone == "+447400123456"
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 1


def test_full_slot_waitlists_the_volunteer_and_hides_the_address(api, slot):
    for _ in range(slot.capacity):
        assert _proven(api, slot, phone=next_mobile())["status"] == "confirmed"
    body = _proven(api, slot, phone=next_mobile())
    assert body["status"] == "waitlisted"
    assert body["address"] is None and body["meeting_place"] is None
    assert body["waitlist_position"] == 1
    assert Slot.objects.get(pk=slot.pk).confirmed_count == slot.capacity


def test_asking_for_the_same_slot_twice_holds_nothing_new_and_texts_the_link_again(api, slot):
    first = _proven(api, slot, phone="07400 123456")
    again = _book(api, slot, phone="+44 7400 123456")
    assert again.status_code == 202 and set(again.json()) == {"challenge", "phone", "expires_at"}
    assert Booking.objects.count() == 1 and Slot.objects.get(pk=slot.pk).confirmed_count == 1
    text = SmsMessage.objects.get(challenge__token=again.json()["challenge"]).body
    assert "already have a place" in text and manage_url(first["manage_token"]) in text


def test_an_overlapping_request_holds_its_own_place_and_the_clash_waits_for_the_proof(api, slot):
    overlapping = SlotFactory(session__meeting_point=slot.session.meeting_point,
                              starts_at=slot.starts_at + timedelta(minutes=30),
                              ends_at=slot.ends_at + timedelta(minutes=30))
    first = _proven(api, slot)
    response = _book(api, overlapping)
    assert response.status_code == 202
    assert slot.session.title not in response.content.decode()
    # Held like any request: the phone's other bookings are not looked at before the phone is proven.
    held = Booking.objects.get(slot=overlapping)
    assert held.status == "confirmed" and held.proven_at is None
    text = SmsMessage.objects.get(challenge__token=response.json()["challenge"]).body
    assert "already" not in text and manage_url(first["manage_token"]) not in text
    assert manage_url(held.manage_token) in text
    detail = api.post(f"/api/challenges/{response.json()['challenge']}/verify/",
                      {"code": texted_code(response.json()["challenge"])}, format="json").json()
    # Proven: now the prover is told, and may keep either (each link cancels its own).
    assert detail["clash"]["manage_token"] == first["manage_token"]
    assert detail["clash"]["title"] == slot.session.title
    assert api.get(f"/api/bookings/{first['manage_token']}/").json()["clash"]["manage_token"] == held.manage_token


def test_an_unproven_hold_at_that_time_is_no_clash(api, slot):
    overlapping = SlotFactory(session__meeting_point=slot.session.meeting_point,
                              starts_at=slot.starts_at, ends_at=slot.ends_at)
    _book(api, slot)  # a hold nobody proved (it may be a stranger's decoy)
    mine = _proven(api, overlapping)
    assert mine["status"] == "confirmed" and mine["clash"] is None


def test_back_to_back_slots_do_not_overlap(api, slot):
    next_slot = SlotFactory(session=slot.session, starts_at=slot.ends_at, ends_at=slot.ends_at + timedelta(hours=1))
    assert _proven(api, slot)["status"] == "confirmed"
    assert _proven(api, next_slot)["status"] == "confirmed"


def test_cancelled_sessions_and_started_slots_cannot_be_booked(api, host_api, slot):
    started = SlotFactory(session__meeting_point=slot.session.meeting_point,
                          starts_at=timezone.now() - timedelta(minutes=5), ends_at=timezone.now() + timedelta(hours=1))
    response = _book(api, started)
    assert response.status_code == 409 and response.json()["error"]["code"] == "slot_in_past"
    host_api.post(f"/api/sessions/{slot.session_id}/cancel/")
    response = _book(api, slot)
    assert response.status_code == 409 and response.json()["error"]["code"] == "session_cancelled"
    assert Booking.objects.count() == 0


def test_unknown_slot_is_404(api, postcode):
    response = api.post("/api/slots/999999/bookings/", booking_body(), format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+33 6 12 34 56 78"}, "phone"),
        ({"phone": "020 7946 0000"}, "phone"),
        ({"postcode": "XX1 1XX"}, "postcode"),
        ({"postcode": "banana"}, "postcode"),
        ({"name": ""}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"consent_sms": "perhaps"}, "consent_sms"),
    ],
)
def test_bad_booking_input_is_a_400_naming_the_field_with_no_partial_writes(api, slot, change, field):
    response = _book(api, slot, **change)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert Volunteer.objects.count() == 0 and Booking.objects.count() == 0


def test_non_json_body_is_a_400_not_a_500(api, slot):
    response = api.post(f"/api/slots/{slot.id}/bookings/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_cancel_by_private_link_releases_the_place_and_promotes_the_waitlist(api, slot, django_capture_on_commit_callbacks):
    tokens = [_proven(api, slot, phone=next_mobile())["manage_token"] for _ in range(slot.capacity)]
    waiting = _proven(api, slot, phone=next_mobile())
    assert waiting["status"] == "waitlisted"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/bookings/{tokens[0]}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api.get(f"/api/bookings/{waiting['manage_token']}/").json()["status"] == "confirmed"
    assert Slot.objects.get(pk=slot.pk).confirmed_count == slot.capacity
    kinds = list(BookingEvent.objects.values_list("kind", flat=True))
    assert kinds.count("booking_cancelled") == 1 and kinds.count("booking_promoted") == 1


def test_cancelling_twice_is_harmless(api, slot):
    token = _proven(api, slot)["manage_token"]
    assert api.post(f"/api/bookings/{token}/cancel/").status_code == 200
    assert api.post(f"/api/bookings/{token}/cancel/").status_code == 200
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 0
    assert BookingEvent.objects.filter(kind="booking_cancelled").count() == 1


def test_rebooking_after_cancelling_reuses_the_booking(api, slot):
    first = _proven(api, slot)
    api.post(f"/api/bookings/{first['manage_token']}/cancel/")
    again = _proven(api, slot)
    assert again["status"] == "confirmed" and again["id"] == first["id"]
    assert again["manage_token"] == first["manage_token"]


def test_unknown_manage_token_is_404(api, db):
    assert api.get("/api/bookings/nope/").status_code == 404
    assert api.post("/api/bookings/nope/cancel/").status_code == 404


def test_host_cancelling_a_session_cancels_its_bookings(api, host_api, other_host_api, slot):
    tokens = [_proven(api, slot, phone=next_mobile())["manage_token"] for _ in range(slot.capacity + 1)]
    assert other_host_api.post(f"/api/sessions/{slot.session_id}/cancel/").status_code == 404
    response = host_api.post(f"/api/sessions/{slot.session_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert {api.get(f"/api/bookings/{t}/").json()["status"] for t in tokens} == {"cancelled"}
    assert BookingEvent.objects.filter(kind="session_cancelled").count() == len(tokens)
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 0
    assert host_api.post(f"/api/sessions/{slot.session_id}/cancel/").status_code == 200  # idempotent


def test_booking_events_are_recorded_with_the_booking_change(api, slot):
    token = _proven(api, slot)["manage_token"]
    booking = Booking.objects.get(manage_token=token)
    assert list(booking.events.values_list("kind", "version")) == [("booking_confirmed", 1)]


@pytest.mark.parametrize("state", ["confirmed", "waitlisted", "redirected", "past"])
def test_booking_representation_is_what_the_declared_fields_give(slot, state):
    """BookingSerializer builds its dict by hand for speed; it must equal DRF's field-by-field output."""
    first = book(slot, "+447400000001", name="Ann Example", proven=True)
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    second = book(slot, "+447400000002", name="Bob", proven=True)
    booking = {"confirmed": first, "waitlisted": second, "redirected": second, "past": first}[state]
    if state == "redirected":
        booking.redirected_to = first
    if state == "past":
        booking.slot.ends_at = timezone.now() - timedelta(minutes=1)
        booking.attendance_confirmed_at = timezone.now()
    serializer = BookingSerializer(booking)
    by_fields = serializers.Serializer.to_representation(serializer, booking)
    assert serializer.data == by_fields
    assert list(serializer.data) == list(BookingSerializer().fields)
    confirmed = serializer._room(booking).shown
    assert serializer.data["session"] == BookingSessionSerializer(booking.slot.session).data
    assert serializer.data["slot"] == BookingSlotSerializer(booking.slot, context={"confirmed": confirmed}).data
    point = booking.slot.session.meeting_point
    assert serializer.data["meeting_place"] == (MeetingPlaceSerializer(point).data if confirmed else None)


def test_a_slot_that_fills_between_read_and_claim_waitlists_with_nothing_confirmed_left_behind(
    slot, django_capture_on_commit_callbacks
):
    """The place is claimed after the confirmed rows are written; losing the race must undo them all."""
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    stale = Slot.objects.select_related("session__meeting_point", "session__seat").get(pk=slot.pk)
    assert stale.confirmed_count < stale.capacity  # it looks as if there is room
    book(slot, "+447400000001", name="First")  # ... but someone takes the last place first
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        volunteer, _ = volunteer_get_or_create(phone="+447400000002", fields=volunteer_fields(
            name="Second", location=postcode_locate(slot.session.meeting_point.postcode), consent_sms=True))
        result = booking_place(volunteer=volunteer, slot=stale)
    assert result.booking.status == Booking.Status.WAITLISTED
    second = Booking.objects.get(volunteer=volunteer)
    assert second.status == Booking.Status.WAITLISTED and second.version == 1
    assert list(BookingEvent.objects.filter(booking=second).values_list("kind", flat=True)) == ["booking_waitlisted"]
    assert list(SmsMessage.objects.filter(booking=second).values_list("kind", flat=True)) == ["booking_waitlisted"]
    slot.refresh_from_db()
    assert slot.confirmed_count == 1
    # Only the waitlisted message's send and the overflow event's processing: nothing for the undone confirmation.
    assert len(without_metrics(callbacks)) == 2

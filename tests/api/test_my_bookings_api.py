"""The API's "my bookings", device tokens and several slots at once: the pages' rules, played by a client."""

from datetime import timedelta

import pytest

from notify.sms.models import SmsMessage
from tests.api.conftest import booking_body
from tests.factories import SlotFactory, texted_code
from volunteers.models import Booking, RememberedDevice

pytestmark = pytest.mark.django_db

PHONE, E164 = "07400 123456", "+447400123456"


@pytest.fixture
def slots(slot):
    later = [SlotFactory(session=slot.session, starts_at=slot.ends_at + timedelta(hours=hour),
                         ends_at=slot.ends_at + timedelta(hours=hour + 1), capacity=2) for hour in (0, 1)]
    return [slot, *later]


def _verify(api, token, code):
    return api.post(f"/api/challenges/{token}/verify/", {"code": code}, format="json")


def _ask_set(api, slots, device=None, **body):
    headers = {"HTTP_X_DEVICE_TOKEN": device} if device else {}
    return api.post("/api/bookings/", booking_body(slot_ids=[s.pk for s in slots], **body), format="json", **headers)


def test_a_set_of_slots_is_held_and_one_code_proves_them_all(api, slots):
    asked = _ask_set(api, slots)
    assert asked.status_code == 202 and set(asked.json()) == {"challenge", "phone", "expires_at"}
    assert SmsMessage.objects.filter(to=E164, kind=SmsMessage.Kind.PHONE_CODE).count() == 1
    token = asked.json()["challenge"]
    proven = _verify(api, token, texted_code(token))
    assert proven.status_code == 200
    body = proven.json()
    assert len(body["upcoming"]) == 3 and all(b["proven"] and b["status"] == "confirmed" for b in body["upcoming"])
    assert body["device_token"] and body["phone"] == "07*** ***456"
    # The same right code again (a lost answer) answers with the same bookings, proving nothing twice.
    again = _verify(api, token, texted_code(token))
    assert again.status_code == 200 and len(again.json()["upcoming"]) == 3


def test_a_full_slot_in_a_set_holds_nothing_and_is_named(api, slots):
    SlotFactory._meta.model.objects.filter(pk=slots[1].pk).update(confirmed_count=2)
    response = _ask_set(api, slots)
    assert response.status_code == 409 and response.json()["error"]["code"] == "slot_full"
    assert "slot_ids" in response.json()["error"]["fields"]
    assert not Booking.objects.exists() and not SmsMessage.objects.exists()


def test_overlapping_slots_in_a_set_are_refused(api, slots):
    overlapping = SlotFactory(session=slots[0].session, starts_at=slots[0].starts_at + timedelta(minutes=15),
                              ends_at=slots[0].ends_at, capacity=2)
    response = _ask_set(api, [slots[0], overlapping])
    assert response.status_code == 400 and response.json()["error"]["code"] == "slots_overlap"
    assert not Booking.objects.exists()


def test_my_code_lists_the_bookings_and_the_device_token_opens_them_again(api, slots):
    first = api.post(f"/api/slots/{slots[0].pk}/bookings/", booking_body(), format="json").json()["challenge"]
    _verify(api, first, texted_code(first))
    asked = api.post("/api/my/code/", {"phone": PHONE}, format="json")
    assert asked.status_code == 202 and set(asked.json()) == {"challenge", "phone", "expires_at"}
    token = asked.json()["challenge"]
    body = _verify(api, token, texted_code(token)).json()
    assert [b["slot"]["id"] for b in body["upcoming"]] == [slots[0].pk]
    device = body["device_token"]
    listed = api.get("/api/my/bookings/", HTTP_X_DEVICE_TOKEN=device)
    assert listed.status_code == 200 and listed["Cache-Control"] == "private, no-store"
    assert [b["slot"]["id"] for b in listed.json()["upcoming"]] == [slots[0].pk] and listed.json()["device_token"] is None
    assert api.get("/api/my/bookings/").status_code == 401
    assert api.post("/api/my/forget/", HTTP_X_DEVICE_TOKEN=device).status_code == 204
    assert api.get("/api/my/bookings/", HTTP_X_DEVICE_TOKEN=device).json()["error"]["code"] == "device_unknown"


def test_my_code_answers_alike_for_an_unknown_number(api, slots):
    first = api.post(f"/api/slots/{slots[0].pk}/bookings/", booking_body(), format="json").json()["challenge"]
    _verify(api, first, texted_code(first))
    known = api.post("/api/my/code/", {"phone": PHONE}, format="json")
    unknown = api.post("/api/my/code/", {"phone": "07400 654321"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json())
    assert unknown.json()["phone"] == "07*** ***321"


def test_a_device_token_books_its_phone_without_a_code_and_never_another(api, slots):
    first = api.post(f"/api/slots/{slots[0].pk}/bookings/", booking_body(), format="json").json()["challenge"]
    asked = api.post("/api/my/code/", {"phone": PHONE}, format="json").json()["challenge"]
    _verify(api, first, texted_code(first))
    device = _verify(api, asked, texted_code(asked)).json()["device_token"]
    codes = SmsMessage.objects.filter(kind=SmsMessage.Kind.PHONE_CODE).count()
    booked = _ask_set(api, slots[1:], device=device)
    assert booked.status_code == 201
    assert len([b for b in booked.json()["upcoming"] if b["proven"]]) == 3
    assert SmsMessage.objects.filter(kind=SmsMessage.Kind.PHONE_CODE).count() == codes
    other = _ask_set(api, slots[1:], device=device, phone="07400 999888")
    assert other.status_code == 202  # another number: a code, as ever
    assert not Booking.objects.filter(volunteer__phone="+447400999888", proven_at__isnull=False).exists()


def test_the_device_table_holds_no_token(api, slots):
    asked = api.post(f"/api/slots/{slots[0].pk}/bookings/", booking_body(), format="json").json()["challenge"]
    _verify(api, asked, texted_code(asked))
    my = api.post("/api/my/code/", {"phone": PHONE}, format="json").json()["challenge"]
    device = _verify(api, my, texted_code(my)).json()["device_token"]
    assert not RememberedDevice.objects.filter(token_hash=device).exists()
    assert RememberedDevice.objects.count() == 1

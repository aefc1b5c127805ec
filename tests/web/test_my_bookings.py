"""'My bookings' (/my/), the remembered device and several slots at once, through the pages (Django test client)."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notify.sms.models import SmsMessage
from tests.factories import SlotFactory, VolunteerFactory
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.devices import device_remember
from volunteers.models import Booking, FrontRoomDisclosure, PhoneChallenge, RememberedDevice, Volunteer
from volunteers.privacy import volunteer_data_export, volunteer_personal_data_erase
from web.volunteer.devices import COOKIE

pytestmark = pytest.mark.django_db

PHONE, E164 = "07400 900321", "+447400900321"
OTHER_PHONE, OTHER_E164 = "07400 900999", "+447400900999"


@pytest.fixture
def area():
    area = neighbourhood()
    start = area.slot.starts_at
    # Two more free slots of the same session, after the full one.
    area.late = SlotFactory(session=area.session, starts_at=start + timedelta(hours=4),
                            ends_at=start + timedelta(hours=5), capacity=3)
    area.later = SlotFactory(session=area.session, starts_at=start + timedelta(hours=5),
                             ends_at=start + timedelta(hours=6), capacity=3)
    return area


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _codes_to(phone: str):
    return SmsMessage.objects.filter(to=phone, kind=SmsMessage.Kind.PHONE_CODE)


def _code_texted_to(phone: str) -> str:
    body = _codes_to(phone).order_by("-id").values_list("body", flat=True).first()
    assert body, f"no code texted to {phone}"
    return re.search(r"\b(\d{6})\b", body).group(1)


def _book(client, slots, phone=PHONE, name="Ada Lovelace"):
    query = "&".join(f"slot={slot.pk}" for slot in slots)
    return client.post(f"/s/{slots[0].session_id}/book/?{query}",
                       {"name": name, "phone": phone, "postcode": VOLUNTEER_POSTCODE, "consent_sms": "on"})


def _prove(client, location, phone=E164):
    return client.post(location, {"code": _code_texted_to(phone)})


# --- Several slots at once -----------------------------------------------------------------------------------

def test_the_session_page_lets_free_slots_be_ticked_together(client, area):
    page = _text(client.get(f"/s/{area.session.pk}/"))
    assert f'name="slot" value="{area.slot.pk}"' in page and f'name="slot" value="{area.late.pk}"' in page
    assert f'name="slot" value="{area.full_slot.pk}"' not in page  # a full slot can't be ticked
    assert "Book the slots I ticked" in page


def test_three_slots_are_booked_with_one_form_and_one_code(client, area):
    slots = [area.slot, area.late, area.later]
    form = _text(client.get(f"/s/{area.session.pk}/book/?slot={area.slot.pk}&slot={area.late.pk}&slot={area.later.pk}"))
    assert "Book 3 slots" in form and "All or nothing" in form
    response = _book(client, slots)
    assert response.status_code == 302 and response["Location"].startswith("/check/")
    assert _codes_to(E164).count() == 1  # one text, one code
    assert "3 slots" in _codes_to(E164).get().body
    bookings = Booking.objects.filter(volunteer__phone=E164)
    assert bookings.count() == 3 and not bookings.filter(proven_at__isnull=False).exists()
    proven = _prove(client, response["Location"])
    assert proven.status_code == 302 and proven["Location"] == "/my/"
    assert Booking.objects.filter(volunteer__phone=E164, proven_at__isnull=False,
                                  status=Booking.Status.CONFIRMED).count() == 3
    page = _text(client.get("/my/"))
    assert page.count("Manage this booking") == 3 and "14 Secret Gardens" in page


def test_a_full_slot_in_the_set_books_nothing_and_says_which(client, area):
    response = _book(client, [area.slot, area.full_slot, area.late])
    assert response.status_code == 200
    page = _text(response)
    assert "full" in page.lower() and timezone.localtime(area.full_slot.starts_at).strftime("%H:%M") in page
    assert not Booking.objects.filter(volunteer__phone=E164).exists()
    assert not _codes_to(E164).exists()


def test_overlapping_slots_in_the_set_book_nothing(client, area):
    overlapping = SlotFactory(session=area.session, starts_at=area.slot.starts_at + timedelta(minutes=30),
                              ends_at=area.slot.ends_at + timedelta(minutes=30), capacity=3)
    response = _book(client, [area.slot, overlapping])
    assert response.status_code == 200 and "overlaps" in _text(response)
    assert not Booking.objects.filter(volunteer__phone=E164).exists()


def test_every_slot_of_a_set_counts_against_the_phone_limit(client, area, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking_phone": "2/h"}
    response = _book(client, [area.slot, area.late, area.later])
    assert response.status_code == 429
    assert not Booking.objects.filter(volunteer__phone=E164).exists()


# --- My bookings ---------------------------------------------------------------------------------------------

def test_send_me_a_code_answers_alike_for_a_known_and_an_unknown_phone(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    client.cookies.clear()
    answers = []
    for phone in (PHONE, OTHER_PHONE):
        response = client.post("/my/", {"phone": phone})
        assert response.status_code == 302 and response["Location"].startswith("/my/check/")
        token = response["Location"].split("/")[3]
        page = _text(client.get(response["Location"])).replace(token, "TOKEN")
        answers.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page))
    assert answers[0] == answers[1]
    assert _codes_to(E164).count() == 2  # the booking's code and this one
    # A number never written to is not texted by a stranger's request, but its challenge is written all the same.
    assert not _codes_to(OTHER_E164).exists()
    assert PhoneChallenge.objects.get(phone=OTHER_E164).volunteer is None
    wrong = client.post(response["Location"], {"code": "123456"})
    assert wrong.status_code == 200 and "tries left" in _text(wrong)


def test_my_code_shows_every_booking_and_remembers_the_device(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    _prove(client, _book(client, [area.other_slot])["Location"])
    client.cookies.clear()
    assert "Text me a code" in _text(client.get("/my/"))
    location = client.post("/my/", {"phone": PHONE})["Location"]
    response = _prove(client, location)
    assert response.status_code == 302 and response["Location"] == "/my/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == 90 * 86400
    page = client.get("/my/")
    assert page["Cache-Control"] == "private, no-store"
    text = _text(page)
    assert "Crookes Saturday doors" in text and "City centre evening" in text and "Forget this device" in text
    assert FrontRoomDisclosure.objects.filter(last_path="page.my").exists() or \
        FrontRoomDisclosure.objects.filter(volunteer__phone=E164).count() == 2
    # Only a hash of the token is stored.
    raw = response.cookies[COOKIE].value
    assert not RememberedDevice.objects.filter(token_hash__in=[raw, raw.split(":")[0]]).exists()


def test_a_stopped_number_is_told_honestly(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    Volunteer.objects.filter(phone=E164).update(sms_opted_out=True)
    response = client.post("/my/", {"phone": PHONE})
    assert response.status_code == 200 and "STOP" in _text(response) and "START" in _text(response)


def test_a_known_phone_with_no_bookings_left_sees_none_and_an_unknown_one_is_never_texted(client, area):
    VolunteerFactory(phone=OTHER_E164, name="B", postcode="S10 2TN", lat=53.3, lng=-1.5)
    location = client.post("/my/", {"phone": OTHER_PHONE})["Location"]
    response = client.post(location, {"code": _code_texted_to(OTHER_E164)}, follow=True)
    assert "Nothing coming up" in _text(response)
    unknown = client.post("/my/", {"phone": "07400 900555"})["Location"]
    assert client.post(unknown + "resend/").status_code == 302
    assert not _codes_to("+447400900555").exists()


def test_my_codes_are_limited_per_phone_known_or_not(client, area, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "code_send_phone": "2/h"}
    _prove(client, _book(client, [area.slot])["Location"])
    client.cookies.clear()
    assert client.post("/my/", {"phone": PHONE}).status_code == 302  # the booking's code was the first
    assert client.post("/my/", {"phone": PHONE}).status_code == 429
    assert [client.post("/my/", {"phone": OTHER_PHONE}).status_code for _ in range(3)] == [302, 302, 429]
    assert _codes_to(E164).count() == 2


# --- The remembered device -----------------------------------------------------------------------------------

def test_a_second_booking_on_a_remembered_device_needs_no_code(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    form = client.get(f"/s/{area.session.pk}/book/?slot={area.late.pk}")
    assert form["Cache-Control"] == "private, no-store"
    text = _text(form)
    assert 'value="Ada Lovelace"' in text and 'value="07400 900321"' in text and "no code to type" in text
    codes = _codes_to(E164).count()
    response = _book(client, [area.late])
    booking = Booking.objects.get(volunteer__phone=E164, slot=area.late)
    assert response.status_code == 302 and response["Location"] == f"/b/{booking.manage_token}"
    assert booking.proven_at is not None and booking.status == Booking.Status.CONFIRMED
    assert _codes_to(E164).count() == codes  # no second code
    assert "14 Secret Gardens" in _text(client.get(response["Location"]))


def test_a_remembered_device_never_proves_another_phone(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    response = _book(client, [area.late], phone=OTHER_PHONE, name="Mallory")
    assert response.status_code == 302 and response["Location"].startswith("/check/")
    assert Booking.objects.get(volunteer__phone=OTHER_E164).proven_at is None


def test_forgetting_the_device_stops_its_cookie_even_replayed(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    stolen = client.cookies[COOKIE].value
    response = client.post("/my/forget/", {"next": f"/s/{area.session.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/s/{area.session.pk}/"
    assert not RememberedDevice.objects.exists()
    client.cookies[COOKIE] = stolen  # a copy kept from before
    assert "Text me a code" in _text(client.get("/my/"))
    assert _book(client, [area.late])["Location"].startswith("/check/")


def test_forget_goes_back_only_to_this_site(client, area):
    response = client.post("/my/forget/", {"next": "https://evil.example/"})
    assert response["Location"] == "/my/"


def test_an_expired_device_is_not_honoured_whatever_the_cookie_says(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    RememberedDevice.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "Text me a code" in _text(client.get("/my/"))
    assert _book(client, [area.late])["Location"].startswith("/check/")


def test_a_forged_cookie_opens_nothing(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    client.cookies[COOKIE] = "made-up-token:forged-signature"
    assert "Text me a code" in _text(client.get("/my/"))


def test_erasure_forgets_the_devices_and_the_export_lists_them(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    volunteer = Volunteer.objects.get(phone=E164)
    exported = volunteer_data_export(volunteer=volunteer)["remembered_devices"]
    assert len(exported) == 1 and "token_hash" not in exported[0] and "expires_at" in exported[0]
    volunteer_personal_data_erase(volunteer_id=volunteer.pk)
    assert not RememberedDevice.objects.exists()
    assert "Text me a code" in _text(client.get("/my/"))


def test_the_manage_page_offers_to_forget_the_device(client, area):
    location = _prove(client, _book(client, [area.slot])["Location"])["Location"]
    assert "Forget this device" in _text(client.get(location))
    client.cookies.clear()
    assert "Forget this device" not in _text(client.get(location))


def test_device_remember_replaces_the_devices_earlier_phone(area):
    first = VolunteerFactory(phone=E164, name="A", postcode="S10 2TN", lat=53.3, lng=-1.5)
    second = VolunteerFactory(phone=OTHER_E164, name="B", postcode="S10 2TN", lat=53.3, lng=-1.5)
    token = device_remember(volunteer_id=first.pk)
    device_remember(volunteer_id=second.pk, replacing=token)
    assert list(RememberedDevice.objects.values_list("volunteer_id", flat=True)) == [second.pk]


def test_the_retention_purge_drops_expired_devices_and_old_codes_for_unknown_numbers(client, area):
    from volunteers.privacy import personal_data_purge_all

    _prove(client, _book(client, [area.slot])["Location"])
    client.post("/my/", {"phone": OTHER_PHONE})
    RememberedDevice.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    PhoneChallenge.objects.filter(volunteer__isnull=True).update(created_at=timezone.now() - timedelta(days=400))
    done = personal_data_purge_all()
    assert done["remembered devices"] == 1 and done["codes for unknown numbers"] == 1
    assert not RememberedDevice.objects.exists() and not PhoneChallenge.objects.filter(volunteer__isnull=True).exists()


def test_a_remembered_device_keeps_the_clash_rule_and_the_limits(client, area, settings):
    _prove(client, _book(client, [area.slot])["Location"])
    overlapping = SlotFactory(session=area.other_session, starts_at=area.slot.starts_at,
                              ends_at=area.slot.ends_at, capacity=3)
    response = _book(client, [overlapping])
    assert response.status_code == 200 and "You already have a place at that time" in _text(response)
    assert not Booking.objects.filter(volunteer__phone=E164, slot=overlapping).exists()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking_phone": "2/h"}  # the first booking and the clash
    assert _book(client, [area.late]).status_code == 429
    assert not Booking.objects.filter(volunteer__phone=E164, slot=area.late).exists()


def test_a_full_single_slot_on_a_remembered_device_waitlists_as_proven(client, area):
    _prove(client, _book(client, [area.slot])["Location"])
    response = _book(client, [area.full_slot])
    booking = Booking.objects.get(volunteer__phone=E164, slot=area.full_slot)
    assert response["Location"] == f"/b/{booking.manage_token}"
    assert booking.status == Booking.Status.WAITLISTED and booking.proven_at is not None


def test_a_bookings_code_typed_on_the_my_code_page_opens_its_booking(client, area):
    token = _book(client, [area.slot])["Location"].split("/")[2]
    response = client.post(f"/my/check/{token}/", {"code": _code_texted_to(E164)})
    booking = Booking.objects.get(volunteer__phone=E164)
    assert response["Location"] == f"/b/{booking.manage_token}" and booking.proven_at is not None
    assert client.post("/my/check/no-such-challenge-token/", {"code": "123456"}).status_code == 404


def test_the_cookie_is_secure_on_https_and_absent_when_remembering_is_off(client, area, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = _prove(client, _book(client, [area.slot])["Location"])
    assert response.cookies[COOKIE]["secure"]
    settings.DEVICE_REMEMBER_DAYS = 0
    client.cookies.clear()
    response = _prove(client, _book(client, [area.late])["Location"])
    assert COOKIE not in response.cookies and RememberedDevice.objects.count() == 1

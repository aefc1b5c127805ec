"""Booking, sign-up and proof of phone through the pages (Django test client): the same identity rules as the API."""

import html
import re

import pytest
from django.utils import timezone

from notify.sms.models import SmsMessage
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking, Volunteer

pytestmark = pytest.mark.django_db

PHONE, E164 = "07400 900321", "+447400900321"


@pytest.fixture
def area():
    return neighbourhood()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _code_texted_to(phone: str) -> str:
    body = (SmsMessage.objects.filter(to=phone, kind=SmsMessage.Kind.PHONE_CODE).order_by("-id")
            .values_list("body", flat=True).first())
    assert body, f"no code texted to {phone}"
    return re.search(r"\b(\d{6})\b", body).group(1)


def _book(client, area, slot=None, phone=PHONE, name="Ada Lovelace"):
    slot = slot or area.slot
    return client.post(f"/s/{slot.session_id}/book/?slot={slot.pk}",
                       {"name": name, "phone": phone, "postcode": VOLUNTEER_POSTCODE, "consent_sms": "on"})


def test_booking_answers_check_your_phone_and_the_code_proves_it(client, area):
    response = _book(client, area)
    assert response.status_code == 302 and response["Location"].startswith("/check/")
    check = client.get(response["Location"])
    assert "Check your phone" in _text(check) and "Secret Gardens" not in _text(check)
    wrong = client.post(response["Location"], {"code": "000000" if _code_texted_to(E164) != "000000" else "111111"})
    assert wrong.status_code == 200 and 'id="id_code_error"' in _text(wrong) and 'role="alert"' in _text(wrong)
    right = client.post(response["Location"], {"code": _code_texted_to(E164)})
    booking = Booking.objects.get(volunteer__phone=E164)
    assert right.status_code == 302 and right["Location"] == f"/b/{booking.manage_token}"
    page = _text(client.get(right["Location"]))
    assert "14 Secret Gardens" in page and "Priya" in page and "Odd numbers of Crookes Road" in page


def test_a_known_phone_gets_the_same_answer_and_nothing_of_the_other_booking(client, area):
    _book(client, area)
    first = Booking.objects.get(volunteer__phone=E164)
    again = _book(client, area, slot=area.other_slot, name="Mallory")
    assert again.status_code == 302 and again["Location"].startswith("/check/")
    page = _text(client.get(again["Location"]))
    assert first.manage_token not in page and "Crookes" not in page
    assert Volunteer.objects.get(phone=E164).name == "Ada Lovelace"


def test_a_code_in_junk_is_an_inline_error_and_an_unknown_challenge_a_404(client, area):
    location = _book(client, area)["Location"]
    for junk in ("abcdef", "12345", "１２３４５６"):
        response = client.post(location, {"code": junk})
        assert response.status_code == 200 and 'id="id_code_error"' in _text(response)
    assert client.post("/check/no-such-challenge-token/", {"code": "123456"}).status_code == 404


def test_resend_sends_a_new_code(client, area):
    location = _book(client, area)["Location"]
    sent = SmsMessage.objects.filter(to=E164, kind=SmsMessage.Kind.PHONE_CODE).count()
    response = client.post(location + "resend/", follow=True)
    assert response.status_code == 200 and "We've sent a new code" in _text(response)
    assert SmsMessage.objects.filter(to=E164, kind=SmsMessage.Kind.PHONE_CODE).count() == sent + 1


def _day_of(area) -> str:
    return timezone.localtime(area.slot.starts_at).date().isoformat()


def test_needed_sign_up_is_proven_by_the_code_too(client, area):
    day = _day_of(area)
    response = client.post("/needed/", {"name": "Grace Hopper", "phone": PHONE, "postcode": VOLUNTEER_POSTCODE,
                                        "max_travel_km": "10", "when": [f"{day}:morning", f"{day}:afternoon"],
                                        "consent_sms": "on"})
    assert response.status_code == 302 and response["Location"].startswith("/check/")
    done = client.post(response["Location"], {"code": _code_texted_to(E164)})
    volunteer = Volunteer.objects.get(phone=E164)
    assert done.status_code == 302 and done["Location"] == f"/n/{volunteer.token}"
    assert volunteer.max_travel_km == 10 and volunteer.availability.count() == 1  # morning and afternoon: one window


def _prove_by_link(client, booking) -> str:
    """The holder of the phone opens the texted link and presses "this is my phone"; the page they then see."""
    assert "This is my phone: show me the address" in _text(client.get(f"/b/{booking.manage_token}"))
    return _text(client.post(f"/b/{booking.manage_token}/prove/", follow=True))


def test_an_email_typed_with_a_strangers_phone_is_not_kept_when_the_link_proves_it(client, area):
    response = client.post(f"/s/{area.slot.session_id}/book/?slot={area.slot.pk}",
                           {"name": "Mallory", "phone": PHONE, "postcode": VOLUNTEER_POSTCODE, "consent_sms": "on",
                            "email": "mallory@example.org", "consent_email": "on"})
    assert response.status_code == 302
    booking = Booking.objects.get(volunteer__phone=E164)
    page = _prove_by_link(client, booking)
    assert "14 Secret Gardens" in page and "mallory@example.org" not in page
    volunteer = Volunteer.objects.get(phone=E164)
    assert volunteer.email == "" and not volunteer.consent_email
    # The holder of the link gives their own address on the page.
    assert "We have no email address for you" in page and "Add my email" in page
    form = client.get(f"/b/{booking.manage_token}/email/")
    assert form.status_code == 200 and "Save my email" in _text(form)
    refused = client.post(f"/b/{booking.manage_token}/email/", {"email": "", "consent_email": "on"})
    assert refused.status_code == 200 and 'id="id_email_error"' in _text(refused)
    saved = client.post(f"/b/{booking.manage_token}/email/", {"email": "ada@example.org", "consent_email": "on"})
    assert saved.status_code == 302 and saved["Location"] == f"/b/{booking.manage_token}#email"
    volunteer.refresh_from_db()
    assert volunteer.email == "ada@example.org" and volunteer.consent_email
    assert "Your email: ada@example.org." in _text(client.get(f"/b/{booking.manage_token}"))


def test_an_email_typed_with_the_booking_is_kept_once_the_code_is_typed(client, area):
    response = client.post(f"/s/{area.slot.session_id}/book/?slot={area.slot.pk}",
                           {"name": "Ada Lovelace", "phone": PHONE, "postcode": VOLUNTEER_POSTCODE,
                            "consent_sms": "on", "email": "ada@example.org", "consent_email": "on"})
    assert Volunteer.objects.get(phone=E164).email == ""
    right = client.post(response["Location"], {"code": _code_texted_to(E164)})
    assert right.status_code == 302
    volunteer = Volunteer.objects.get(phone=E164)
    assert volunteer.email == "ada@example.org" and volunteer.consent_email
    assert "Your email: ada@example.org." in _text(client.get(right["Location"]))


def test_the_right_code_sent_again_after_a_lost_answer_goes_to_the_same_page(client, area):
    location = _book(client, area)["Location"]
    code = _code_texted_to(E164)
    first = client.post(location, {"code": code})
    texts = SmsMessage.objects.count()
    again = client.post(location, {"code": code})
    assert first.status_code == again.status_code == 302 and again["Location"] == first["Location"]
    assert first["Location"] == f"/b/{Booking.objects.get(volunteer__phone=E164).manage_token}"
    wrong = client.post(location, {"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 200 and 'id="id_code_error"' in _text(wrong)
    assert "used already" in _text(wrong)
    assert SmsMessage.objects.count() == texts


def test_a_sign_up_code_sent_again_goes_to_the_same_page(client, area):
    location = client.post("/needed/", {"name": "Grace Hopper", "phone": PHONE, "postcode": VOLUNTEER_POSTCODE,
                                        "max_travel_km": "10", "when": [f"{_day_of(area)}:morning"],
                                        "consent_sms": "on"})["Location"]
    code = _code_texted_to(E164)
    first = client.post(location, {"code": code})
    token = Volunteer.objects.get(phone=E164).token
    again = client.post(location, {"code": code})
    assert first.status_code == again.status_code == 302 and again["Location"] == f"/n/{token}"
    assert Volunteer.objects.get(phone=E164).token == token

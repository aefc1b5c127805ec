"""The booking form tells the truth at once (issue 22): every field's error together (page and API), no example
number the form itself refuses, and a number that texted STOP is told so, not that a code is on its way."""

import html
import re

import pytest
from rest_framework.test import APIClient

from notify.sms.models import SmsMessage
from tests.factories import VolunteerFactory
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking, PhoneChallenge, Volunteer
from volunteers.phones import phone_normalise

pytestmark = pytest.mark.django_db

STOPPED = "+447400123456"


@pytest.fixture
def area():
    return neighbourhood()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _book_url(area) -> str:
    return f"/s/{area.session.pk}/book/?slot={area.slot.pk}"


def test_every_field_error_shows_at_once_with_a_summary_linking_to_each(client, area):
    response = client.post(_book_url(area), {"name": "", "phone": "07700 900123", "postcode": "ZZ9 9ZZ"})
    page = _text(response)
    assert response.status_code == 200
    for field in ("name", "phone", "postcode", "consent_sms"):
        assert f'id="id_{field}_error"' in page, field
        assert f'<a href="#id_{field}">' in page, field
    assert "We couldn't find that postcode" in page and "Enter a UK mobile number" in page
    summary = page[page.index("There is a problem"):page.index("</div>", page.index("There is a problem"))]
    assert summary.count("<li>") == 4
    assert Booking.objects.count() == PhoneChallenge.objects.count() == 0


def test_the_api_names_every_bad_field_at_once(area):
    response = APIClient().post(f"/api/slots/{area.slot.pk}/bookings/", {
        "phone": "07700 900123", "postcode": "ZZ9 9ZZ", "consent_sms": True}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "phone", "postcode"}
    assert Booking.objects.count() == 0


def _phone_like(text: str) -> list[str]:
    return re.findall(r"(?:\+44\s?7|07)\d{3}\s?\d{6}", text)


def test_no_example_number_the_form_refuses(client, area):
    pages = [_text(client.get(_book_url(area))),
             _text(client.post(_book_url(area), {"name": "Ada", "phone": "12", "postcode": VOLUNTEER_POSTCODE,
                                                 "consent_sms": "on"}))]
    assert "11 digits starting 07" in pages[0]
    for page in pages:
        for number in _phone_like(page):
            phone_normalise(number)  # raises if the page shows a number it refuses


def _stopped_volunteer() -> Volunteer:
    return VolunteerFactory(phone=STOPPED, name="Ada", postcode=VOLUNTEER_POSTCODE, lat=53.381, lng=-1.49,
                            consent_sms=True, sms_opted_out=True)


def test_a_number_that_texted_stop_is_told_so_on_the_page_and_not_texted(client, area, settings):
    settings.TWILIO_FROM = "+447400900900"
    _stopped_volunteer()
    response = client.post(_book_url(area), {"name": "Ada", "phone": "07400 123456", "postcode": VOLUNTEER_POSTCODE,
                                             "consent_sms": "on"})
    page = _text(response)
    assert response.status_code == 200
    assert "Texts to this number are stopped" in page and "Text START to +447400900900" in page
    assert 'id="id_phone_error"' in page
    assert "Check your phone" not in page
    assert SmsMessage.objects.count() == PhoneChallenge.objects.count() == 0
    assert not Booking.objects.exists()


def test_a_number_that_texted_stop_gets_a_4xx_naming_the_phone_from_the_api(area):
    _stopped_volunteer()
    response = APIClient().post(f"/api/slots/{area.slot.pk}/bookings/", {
        "name": "Ada", "phone": "07400 123456", "postcode": VOLUNTEER_POSTCODE, "consent_sms": True}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "texts_stopped" and "START" in error["fields"]["phone"][0]
    assert SmsMessage.objects.count() == PhoneChallenge.objects.count() == 0


def test_a_number_that_texted_start_again_books_as_before(client, area):
    volunteer = _stopped_volunteer()
    Volunteer.objects.filter(pk=volunteer.pk).update(sms_opted_out=False)
    response = client.post(_book_url(area), {"name": "Ada", "phone": "07400 123456", "postcode": VOLUNTEER_POSTCODE,
                                             "consent_sms": "on"})
    assert response.status_code == 302 and "/check/" in response["Location"]

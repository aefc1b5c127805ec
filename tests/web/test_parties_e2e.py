"""Booking for a party of 3 in Chromium at 375 px: the form's "others", the code, the booking page saying the
party, and giving a place back (plain forms: the same without JavaScript, tests/web/test_parties_pages.py)."""

import re

import pytest
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.web.conftest import axe_violations
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

E164 = "+447400900789"


def test_booking_for_a_party_of_three_on_a_phone(page, live_server):
    area = neighbourhood()
    page.goto(live_server.url + f"/s/{area.session.pk}/book/?slot={area.slot.pk}")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("How many others are coming with you?").select_option("2")
    page.get_by_label("Their first names (optional)").fill("Bea, Cy")
    page.get_by_label("Mobile number").fill("07400 900789")
    page.get_by_label("Your postcode").fill(VOLUNTEER_POSTCODE)
    page.get_by_label(re.compile("^Text me")).check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    page.get_by_role("button", name="Book my place").click()

    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    body = SmsMessage.objects.filter(to=E164, kind="phone_code").values_list("body", flat=True).get()
    page.get_by_label("The 6-digit code from the text").fill(re.search(r"\b(\d{6})\b", body).group(1))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Your place")).to_be_visible()
    expect(page.get_by_text("A place for you and 2 others")).to_be_visible()
    assert Slot.objects.get(pk=area.slot.pk).confirmed_count == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    page.get_by_label("How many of you are coming now, you included?").select_option("2")
    page.get_by_role("button", name="Give back the other places").click()
    expect(page.get_by_text("Done: 1 place given back.")).to_be_visible()
    expect(page.get_by_text("A place for you and 1 other")).to_be_visible()
    assert Booking.objects.get(volunteer__phone=E164).party_size == 2
    assert Slot.objects.get(pk=area.slot.pk).confirmed_count == 2

"""The volunteer journey in Chromium at 375 px, from a postcode to a proven booking, its calendar file and its
cancellation: with JavaScript off and on, the phone proven by typing the code or by opening the texted link and
pressing "This is my phone". The code and link are read from the SMS outbox in the database, as a volunteer
would read them from their phone."""

import re

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from tests.web.conftest import screenshot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "07400 900456"
E164 = "+447400900456"


def _text_to(phone: str) -> str:
    body = (SmsMessage.objects.filter(to=phone, kind="phone_code").order_by("-id")
            .values_list("body", flat=True).first())
    assert body, f"no text to {phone}"
    return body


def _code_texted_to(phone: str) -> str:
    return re.search(r"\b(\d{6})\b", _text_to(phone)).group(1)


def _link_texted_to(phone: str) -> str:
    """The private link's path (the text's link starts with PUBLIC_BASE_URL, not the live server's address)."""
    return re.search(r"https?://[^/\s]+(/b/[A-Za-z0-9_-]+)", _text_to(phone)).group(1)


def _journey(page, live_server, area, *, shots: bool, prove: str = "code") -> Booking:
    page.goto(live_server.url + "/")
    page.get_by_label("Your postcode").fill(VOLUNTEER_POSTCODE.lower())
    page.get_by_role("button", name="Find sessions").click()
    expect(page.get_by_role("heading", name="Sessions near S10", exact=True)).to_be_visible()  # the district's
    assert VOLUNTEER_POSTCODE not in page.content()
    expect(page.get_by_text("Sheffield Hallam: Won by 2,353 votes (4.2%).")).to_be_visible()
    page.get_by_role("link", name="Crookes Saturday doors").click()
    expect(page.get_by_role("heading", name="Crookes Saturday doors")).to_be_visible()
    assert "Secret Gardens" not in page.content()
    page.get_by_role("link", name=re.compile(r"^Book ")).first.click()

    # A first try with a mistake: the error is announced and sits next to its field.
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Mobile number").fill("01234")
    page.get_by_label(re.compile("^Text me")).check()
    page.get_by_role("button", name="Book my place").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.get_by_label("Mobile number").get_attribute("aria-invalid") == "true"
    # The full postcode searched with, kept for this volunteer's own booking form (a cookie), never on a page.
    assert page.get_by_label("Your postcode").input_value() == VOLUNTEER_POSTCODE
    page.get_by_label("Mobile number").fill(PHONE)
    if shots:
        screenshot(page, "volunteer-book-error")
    page.get_by_role("button", name="Book my place").click()

    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    if shots:
        screenshot(page, "volunteer-check")
    if prove == "code":
        page.get_by_label("The 6-digit code from the text").fill(_code_texted_to(E164))
        page.get_by_role("button", name="Confirm").click()
    else:
        # Opening the texted link shows the place without the address until the volunteer says it is their phone.
        page.goto(live_server.url + _link_texted_to(E164))
        expect(page.get_by_role("heading", name="Your place")).to_be_visible()
        expect(page.get_by_role("heading", name="Is this your phone?")).to_be_visible()
        assert page.get_by_text("14 Secret Gardens").count() == 0 and page.get_by_text("Priya").count() == 0
        assert Booking.objects.get(volunteer__phone=E164).proven_at is None
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        if shots:
            screenshot(page, "volunteer-prove")
        page.get_by_role("button", name="This is my phone: show me the address").click()
        expect(page.get_by_text("Thank you: your phone is confirmed.")).to_be_visible()
        assert page.get_by_role("button", name=re.compile("^This is my phone")).count() == 0

    expect(page.get_by_role("heading", name="Your place")).to_be_visible()
    expect(page.get_by_text("You're booked")).to_be_visible()
    expect(page.get_by_text("14 Secret Gardens")).to_be_visible()
    expect(page.get_by_text("Priya")).to_be_visible()
    expect(page.get_by_text("Odd numbers of Crookes Road")).to_be_visible()
    booking = Booking.objects.get(volunteer__phone=E164)
    assert booking.status == Booking.Status.CONFIRMED and booking.slot_id == area.slot.pk
    assert booking.proven_at is not None

    calendar_link = page.get_by_role("link", name="Add to my calendar")
    ics = page.request.get(live_server.url + calendar_link.get_attribute("href"))
    event = Calendar.from_ical(ics.body()).walk("VEVENT")[0]
    assert "Secret Gardens" in str(event["LOCATION"]) and str(event["UID"]).startswith(f"booking-{booking.pk}@")

    page.get_by_role("link", name="Cancel my place").click()
    page.get_by_role("button", name="Yes, cancel my place").click()
    expect(page.get_by_text("You cancelled this place.")).to_be_visible()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    return booking


@pytest.mark.parametrize("prove", ["code", "link"])
def test_journey_without_javascript(no_js_page, live_server, prove):
    area = neighbourhood()
    _journey(no_js_page, live_server, area, shots=False, prove=prove)


@pytest.mark.parametrize("prove", ["code", "link"])
def test_journey_with_javascript(page, live_server, only_local_requests, prove):
    area = neighbourhood()
    _journey(page, live_server, area, shots=True, prove=prove)

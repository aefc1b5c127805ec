"""Several slots with one code, and "my bookings" on a remembered device, in Chromium at 375 px, script off and on
(axe clean at every step of the run with script on: axe is a script)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from tests.factories import SlotFactory
from tests.web.conftest import axe_violations, screenshot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE, E164 = "07400 900123", "+447400900123"  # not 07700 900123: issue 22 (volpages)


@pytest.fixture
def area():
    area = neighbourhood()
    start = area.slot.starts_at
    area.late = SlotFactory(session=area.session, starts_at=start + timedelta(hours=4),
                            ends_at=start + timedelta(hours=5), capacity=3)
    area.later = SlotFactory(session=area.session, starts_at=start + timedelta(hours=5),
                             ends_at=start + timedelta(hours=6), capacity=3)
    return area


def _codes() -> int:
    return SmsMessage.objects.filter(to=E164, kind=SmsMessage.Kind.PHONE_CODE).count()


def _code() -> str:
    body = SmsMessage.objects.filter(to=E164, kind=SmsMessage.Kind.PHONE_CODE).order_by("-id").values_list(
        "body", flat=True).first()
    return re.search(r"code (\d{6})", body).group(1)


def _shot(page, name: str) -> None:
    # One picture per page, from the run with script on (the pages are the same without it).
    if page.javascript:
        screenshot(page, name)


def _accessible(page) -> None:
    # axe runs as a script: with JavaScript off the same pages are checked in the run with it on.
    if page.javascript:
        assert axe_violations(page) == [], page.url


def _fill_contact(page) -> None:
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Mobile number").fill(PHONE)
    page.get_by_label("Your postcode").fill(VOLUNTEER_POSTCODE)
    page.get_by_label("text me", exact=False).check()


def test_three_slots_booked_at_once_with_one_code(phone_page, live_server, area):
    page = phone_page
    page.goto(f"{live_server.url}/s/{area.session.pk}/")
    _accessible(page)
    for slot in (area.slot, area.late, area.later):
        page.locator(f"#tick-{slot.pk}").check()
    _shot(page, "volunteer-session-ticked")
    page.get_by_role("button", name="Book the slots I ticked").click()
    expect(page.get_by_role("heading", name="Book 3 slots")).to_be_visible()
    _accessible(page)
    _fill_contact(page)
    _shot(page, "volunteer-book-several")
    page.get_by_role("button", name="Book these slots").click()
    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    assert _codes() == 1
    page.get_by_label("The 6-digit code from the text").fill(_code())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Manage this booking"))).to_have_count(3)
    expect(page.get_by_text("14 Secret Gardens").first).to_be_visible()
    _accessible(page)
    _shot(page, "volunteer-my-bookings")
    assert Booking.objects.filter(volunteer__phone=E164, proven_at__isnull=False).count() == 3
    assert _codes() == 1


def test_my_bookings_after_a_second_booking_on_a_remembered_device(phone_page, live_server, area):
    page = phone_page
    page.goto(f"{live_server.url}/s/{area.session.pk}/book/?slot={area.slot.pk}")
    _fill_contact(page)
    page.get_by_role("button", name="Book my place").click()
    page.get_by_label("The 6-digit code from the text").fill(_code())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your place")).to_be_visible()
    expect(page.get_by_role("button", name="Forget this device")).to_be_visible()
    # A second booking on this device: the form is filled in, and no code is asked for.
    page.goto(f"{live_server.url}/s/{area.other_session.pk}/book/?slot={area.other_slot.pk}")
    expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Mobile number")).to_have_value(PHONE)
    _accessible(page)
    _shot(page, "volunteer-book-remembered")
    page.get_by_role("button", name="Book my place").click()
    expect(page.get_by_role("heading", name="Your place")).to_be_visible()
    expect(page.get_by_text("2 Other Street")).to_be_visible()
    assert _codes() == 1
    page.get_by_role("link", name="My bookings").click()
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()
    expect(page.get_by_role("heading", name="Crookes Saturday doors")).to_be_visible()
    expect(page.get_by_role("heading", name="City centre evening")).to_be_visible()
    _accessible(page)
    _shot(page, "volunteer-my-remembered")
    # Forgetting the device: /my/ asks for a number again.
    page.get_by_role("button", name="Forget this device").click()
    expect(page.get_by_role("button", name="Text me a code")).to_be_visible()
    _accessible(page)

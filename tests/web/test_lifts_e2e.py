"""Lifts in Chromium at 375 px (issue 24), script off (and on, for axe: axe is a script): a driver offers two
seats; two riders find and ask for them; the driver accepts one; that rider sees where to meet; the driver
cancels; the rider is told by text and keeps their booking."""

import pytest
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from tests.factories import PostcodeFactory, book
from tests.web.conftest import axe_violations, screenshot
from tests.web.volunteer_data import neighbourhood
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _check(page, name: str) -> None:
    if page.javascript:
        assert axe_violations(page) == [], page.url
        screenshot(page, name)


def test_a_driver_offers_two_riders_ask_one_is_taken_then_the_lift_is_cancelled(phone_page, live_server):
    page = phone_page
    area = neighbourhood()
    PostcodeFactory(postcode="S1 4GT", lat=53.378, lng=-1.462, seat=area.session.seat)
    slot = area.slot
    driver = book(slot, name="Dana Driver", postcode=area.session.meeting_point.postcode, proven=True)
    riders = [book(slot, name=name, postcode=area.session.meeting_point.postcode, proven=True)
              for name in ("Rhys Rider", "Sam Second")]
    departs = (slot.starts_at.astimezone().replace(second=0, microsecond=0)).strftime("%H:%M")

    page.goto(f"{live_server.url}/b/{driver.manage_token}")
    page.get_by_role("link", name="Lifts: offer one, or find one to this session").click()
    page.get_by_role("link", name="I'm driving: offer a lift").click()
    _check(page, "lift-offer")
    page.get_by_label("Seats for riders").select_option("2")
    page.get_by_label("Kind of place").select_option("station")
    page.get_by_label("Where to meet").fill("Sheffield station, front entrance")
    page.get_by_label("Its postcode or area").fill("S1 4GT")
    hour, minute = departs.split(":")
    page.get_by_label("Leaving at").fill(f"{int(hour) - 1:02d}:{minute}")
    page.get_by_role("button", name="Offer this lift").click()
    expect(page.get_by_text("2 seats left")).to_be_visible()

    for rider in riders:
        page.goto(f"{live_server.url}/b/{rider.manage_token}/lifts/")
        expect(page.get_by_text("From the S1 area")).to_be_visible()
        expect(page.get_by_text("Sheffield station")).to_have_count(0)
        _check(page, "lift-riders-list")
        page.get_by_role("button", name="Ask for a seat").click()
        expect(page.get_by_text("You asked for a seat")).to_be_visible()

    page.goto(f"{live_server.url}/b/{driver.manage_token}/lifts/")
    _check(page, "lift-driver-requests")
    page.get_by_role("button", name="Accept").first.click()
    expect(page.get_by_text("Rhys rides with you.")).to_be_visible()

    page.goto(f"{live_server.url}/b/{riders[0].manage_token}/lifts/")
    expect(page.get_by_text("Dana gives you a lift. Meet at Sheffield station, front entrance (S1 4GT)")).to_be_visible()
    _check(page, "lift-rider-accepted")

    page.goto(f"{live_server.url}/b/{driver.manage_token}/lifts/")
    page.get_by_role("button", name="Cancel my lift").click()
    expect(page.get_by_text("Your lift is cancelled.")).to_be_visible()

    page.goto(f"{live_server.url}/b/{riders[0].manage_token}/lifts/")
    expect(page.get_by_text("Sheffield station")).to_have_count(0)
    for rider in riders:
        assert Booking.objects.get(pk=rider.pk).status == Booking.Status.CONFIRMED
        assert "Your place is kept" in SmsMessage.objects.get(booking=rider, kind="lift_cancelled").body

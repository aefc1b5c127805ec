"""The coordinators' messages page (/coordinate/messages/, issue 25) in Chromium: the form, its preview, a refused
send and the list of messages sent, each scanned by axe (WCAG 2.x A and AA, serious and critical), at 375 px and on
a desktop."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notify.models import Broadcast
from tests.factories import PostcodeFactory, SeatFactory, SlotFactory, UserFactory
from tests.web.conftest import axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-password-9"


def _booked_today():
    from tests.sms.factories import booking_make, volunteer_make

    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    start = timezone.localtime().replace(hour=23, minute=0, second=0, microsecond=0)
    slot = SlotFactory(session__meeting_point__seat=seat, session__title="Late leaflets in Crookes",
                       starts_at=start, ends_at=start + timezone.timedelta(minutes=30))
    booking_make(slot=slot, volunteer=volunteer_make(name="Ann One"))
    booking_make(slot=slot, volunteer=volunteer_make(name="Ben Two", consent_campaign=True))
    coordinator = UserFactory(username="coord", is_staff=True)
    coordinator.set_password(PASSWORD)
    coordinator.save()
    return slot


@pytest.mark.parametrize("width", [375, 1280])
def test_the_coordinators_messages_page_passes_axe(browser, live_server, locmem_sms, width):
    _booked_today()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB",
                                  timezone_id="Europe/London")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/coordinate/messages/")
        page.get_by_label("Email address").fill("coord")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Messages to everyone booked")).to_be_visible()
        assert axe_violations(page) == [], "the form"

        page.get_by_role("button", name="Preview").click()  # no message: refused by its field
        expect(page.get_by_text("Write a message.")).to_be_visible()
        assert axe_violations(page) == [], "the refused form"

        page.get_by_label("About this session (service)", exact=False).check()
        page.get_by_label("Your message").fill("Bring a torch tonight.")
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_role("region", name="Before you send")).to_contain_text("2 volunteers are booked.")
        assert axe_violations(page) == [], "the preview"

        page.get_by_role("button", name="Send it").click()
        expect(page.get_by_role("table")).to_contain_text("Bring a torch tonight.")
        assert Broadcast.objects.count() == 1
        assert axe_violations(page) == [], "the list of messages sent"
        if width == 375:
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()

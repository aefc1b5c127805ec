"""A host messages their session's volunteers (issue 25) in Chromium at 375 px: JavaScript off for the journey
(write, preview, send), and both pages scanned by axe."""

import pytest
from playwright.sync_api import expect

from notify.models import Broadcast
from notify.sms.models import SmsMessage
from tests.factories import PostcodeFactory, SeatFactory, SlotFactory, UserFactory
from tests.web.conftest import axe_violations, screenshot
from volunteers.models import Booking

pytestmark = pytest.mark.e2e


def _session_with_volunteers():
    from tests.sms.factories import booking_make, volunteer_make

    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    host = UserFactory(username="priya", first_name="Priya", email="priya@example.org")
    slot = SlotFactory(session__meeting_point__host=host, session__meeting_point__seat=seat,
                       session__title="Saturday in Crookes")
    booking_make(slot=slot, volunteer=volunteer_make(name="Ann One"))
    booking_make(slot=slot, volunteer=volunteer_make(name="Ben Two", consent_campaign=True))
    booking_make(slot=slot, proven=False)  # an unproven hold: never messaged
    return slot


def _sign_in_and_open(page, base: str, session_id: int) -> None:
    page.goto(f"{base}/host/sessions/{session_id}/message/")
    page.get_by_label("Email address").fill("priya@example.org")
    page.get_by_label("Password").fill("a-long-password-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Message your volunteers")).to_be_visible()


def test_a_host_writes_previews_and_sends_a_message_without_javascript(no_js_page, live_server, transactional_db,
                                                                       locmem_sms):
    slot = _session_with_volunteers()
    page = no_js_page
    _sign_in_and_open(page, live_server.url, slot.session_id)
    locmem_sms.clear()

    # An empty message is refused by its field.
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Write a message.")).to_be_visible()

    # A call to action: the preview says one of the two proven volunteers can get it, and shows the text as sent.
    page.get_by_label("Call to action (campaign)", exact=False).check()
    page.get_by_label("Your message").fill("Come and knock doors on Sunday too!")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Before you send")
    expect(preview).to_contain_text("2 volunteers are booked.")
    expect(preview).to_contain_text("It goes as 1 texts and 0 emails.")
    expect(preview).to_contain_text("1 can't be reached")
    expect(preview).to_contain_text("Come and knock doors on Sunday too!")
    expect(preview).to_contain_text("Stop calls to action")
    assert not Broadcast.objects.exists() and locmem_sms == []
    screenshot(page, "host-message-preview")

    page.get_by_role("button", name="Send it").click()
    expect(page.get_by_role("heading", name="Saturday in Crookes")).to_be_visible()
    expect(page.get_by_text("Sent: 1 text and 0 emails on their way.")).to_be_visible()
    broadcast = Broadcast.objects.get()
    assert (broadcast.purpose, broadcast.recipients, broadcast.texts) == ("campaign", 2, 1)
    ben = Booking.objects.get(volunteer__name="Ben Two").volunteer
    assert SmsMessage.objects.get(broadcast=broadcast).volunteer == ben


def test_the_message_pages_pass_axe(page, live_server, transactional_db, locmem_sms):
    slot = _session_with_volunteers()
    _sign_in_and_open(page, live_server.url, slot.session_id)
    assert axe_violations(page) == []
    page.get_by_label("Your message").fill("We meet at the side door.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Before you send")).to_be_visible()
    assert axe_violations(page) == []

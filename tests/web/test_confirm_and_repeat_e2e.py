"""Issue 25 in Chromium at 375 px with JavaScript off: a host repeats a session weekly, and a volunteer confirms
their place with the button behind the texted link; the same pages scanned by axe."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions.models import CanvassSession
from tests.factories import BookingFactory, MeetingPointFactory, SeatFactory, SlotFactory, UserFactory
from tests.web.conftest import axe_violations
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("promotion_offers")]


def _data():
    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    host = UserFactory(username="priya", first_name="Priya")
    room = MeetingPointFactory(host=host, seat=seat, capacity=10, address="27 Psalter Lane\nSheffield")
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    slot = SlotFactory(session__meeting_point=room, session__title="Saturday doors", session__starts_at=start,
                       session__ends_at=start + timedelta(hours=2), capacity=4)
    soon = timezone.now() + timedelta(hours=20)
    tomorrow = SlotFactory(session__meeting_point=room, session__title="Tomorrow's doors", session__starts_at=soon,
                           session__ends_at=soon + timedelta(hours=2), session__confirm_required=True, capacity=4)
    booking = BookingFactory(volunteer__phone="+447700900123", volunteer__name="Ada Lovelace",
                             volunteer__consent_sms=True, slot=tomorrow, proven_at=timezone.now())
    tomorrow.confirmed_count = 1
    tomorrow.save(update_fields=["confirmed_count"])
    return slot, booking


def test_a_host_repeats_weekly_and_a_volunteer_confirms_by_link_without_javascript(no_js_page, page, live_server,
                                                                                    transactional_db):
    slot, booking = _data()
    browser = no_js_page
    browser.goto(f"{live_server.url}/host/sessions/{slot.session_id}/")
    browser.get_by_label("Email address").fill("priya@example.org")
    browser.get_by_label("Password").fill("a-long-password-9")
    browser.get_by_role("button", name="Sign in").click()
    browser.get_by_role("link", name="Copy to other dates").click()
    first = timezone.localtime(slot.starts_at).date()
    browser.get_by_label("Every week on the same day, until").fill((first + timedelta(days=14)).isoformat())
    browser.get_by_role("button", name="Make the copies").click()
    expect(browser.get_by_text("Copied to 2 dates")).to_be_visible()
    series = CanvassSession.objects.get(pk=slot.session_id).series
    later = CanvassSession.objects.filter(series=series).exclude(pk=slot.session_id).order_by("starts_at").first()
    browser.goto(f"{live_server.url}/host/sessions/{later.pk}/edit/")
    expect(browser.get_by_role("radio", name="This and later ones")).to_be_visible()

    browser.goto(f"{live_server.url}/b/{booking.manage_token}")
    expect(browser.get_by_role("status").first).to_contain_text("Please confirm you're still coming by")
    browser.get_by_role("button", name="I'm coming").click()
    expect(browser.get_by_text("Thank you: you're confirmed.")).to_be_visible()
    expect(browser.get_by_role("button", name="I'm coming")).to_have_count(0)
    booking.refresh_from_db()
    assert booking.attendance_confirmed_at is not None

    # The same pages, and an offered place's, in a phone-sized browser with scripts on, for axe.
    offered = BookingFactory(volunteer__phone="+447700900124", volunteer__name="Ben", slot=slot,
                             proven_at=timezone.now(), offer_expires_at=timezone.now() + timedelta(hours=1))
    page.goto(f"{live_server.url}/b/{offered.manage_token}")
    expect(page.get_by_role("button", name="Take the place")).to_be_visible()
    assert axe_violations(page) == []
    Booking.objects.filter(pk=booking.pk).update(attendance_confirmed_at=None)
    page.goto(f"{live_server.url}/b/{booking.manage_token}")
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/host/sessions/{later.pk}/edit/")
    page.get_by_label("Email address").fill("priya@example.org")
    page.get_by_label("Password").fill("a-long-password-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("radio", name="This and later ones")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/host/sessions/{slot.session_id}/copy/")
    assert axe_violations(page) == []

"""After the knock in Chromium at 375 px with JavaScript off: the host marks an arrival on the check-in list and
files the session's report; the volunteer says how it went and is offered the next session nearby. Every page is
found by role and label and is axe-clean."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.aftercare.helpers import booked_slot, slot_move
from tests.factories import HostStandingFactory
from tests.web.conftest import axe_violations
from volunteers.models import Booking, Feedback, SessionReport

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-password-9"


def test_the_host_checks_in_and_reports_and_the_volunteer_gives_feedback(no_js_page, page, live_server):
    checker = page  # axe runs a script: each page seen without JavaScript is checked again, as is, with it

    def _fits_and_is_clean(seen) -> None:
        checker.context.add_cookies(seen.context.cookies())
        checker.goto(seen.url)
        assert checker.evaluate("document.documentElement.scrollWidth") <= 375, seen.url
        assert axe_violations(checker) == [], seen.url

    page = no_js_page
    base = live_server.url
    slot, (first, second) = booked_slot(people=2, starts_at=timezone.now() - timedelta(minutes=10))
    nearby, _ = booked_slot(people=0, title="Sunday leaflet round, Broomhill")
    host = slot.session.meeting_point.host
    host.email = "aisha@example.org"
    host.set_password(PASSWORD)
    host.save()
    HostStandingFactory(host=host, email_verified=host.email)

    page.goto(base + "/host/login/")
    page.get_by_label("Email address").fill("aisha@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/host/sessions/{slot.session_id}/")
    page.get_by_role("link", name="Check-in on the day").click()
    expect(page.get_by_role("heading", name="Check-in", exact=True)).to_be_visible()
    expect(page.get_by_text("0 arrived of 2 booked")).to_be_visible()
    _fits_and_is_clean(page)
    page.get_by_role("listitem").filter(has_text="Volunteer 0 Person").get_by_role("button", name="Arrived").click()
    expect(page.get_by_text("1 arrived of 2 booked")).to_be_visible()
    first.refresh_from_db()
    assert first.status == Booking.Status.ATTENDED

    slot_move(slot, starts_at=timezone.now() - timedelta(hours=2, minutes=30))  # the session is over
    page.get_by_role("link", name="Report on the session").click()
    page.get_by_label("Doors knocked").fill("40")
    page.get_by_label("Conversations").fill("50")
    page.get_by_role("button", name="Save the report").click()
    expect(page.get_by_text("No more conversations than doors knocked.").first).to_be_visible()
    _fits_and_is_clean(page)
    page.get_by_label("Conversations").fill("12")
    page.get_by_label("A note for the organiser (optional)").fill("One door asked for a poster.")
    page.get_by_role("button", name="Save the report").click()
    expect(page.get_by_text("your report is saved")).to_be_visible()
    _fits_and_is_clean(page)
    report = SessionReport.objects.get(session=slot.session)
    assert (report.doors, report.conversations) == (40, 12)

    page.goto(f"{base}/b/{first.manage_token}")
    page.get_by_role("link", name="How did it go?").click()
    _fits_and_is_clean(page)
    page.get_by_role("group", name="Did you go?").get_by_label("Yes").check()
    page.get_by_role("group", name="How was it? (1 = poor, 5 = great)").get_by_label("5").check()
    page.get_by_role("group", name="Would you come again?").get_by_label("Yes").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_text("your answers are saved").first).to_be_visible()
    expect(page.get_by_role("heading", name="Come again: the next sessions near you")).to_be_visible()
    expect(page.get_by_role("link", name="Sunday leaflet round, Broomhill")).to_be_visible()
    _fits_and_is_clean(page)
    feedback = Feedback.objects.get(booking=first)
    assert (feedback.went, feedback.rating, feedback.again) == (True, 5, True)

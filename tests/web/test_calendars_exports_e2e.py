"""Feeds and exports in Chromium: the volunteer's and the host's "Get a calendar feed link" and "Reset feed link"
buttons (found by role and label, axe-clean at 375 px), and the coordinators' exports page downloading a file."""

import csv
import io
import re

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from tests.factories import book
from tests.web.conftest import axe_violations
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password-9"


def _feed(page, live_server) -> Calendar:
    url = page.get_by_label("Your calendar feed").input_value()
    assert re.fullmatch(r"https?://[^/]+/feeds/(host|volunteer)/[A-Za-z0-9_-]{43}\.ics", url)
    path = url.split("/", 3)[3]
    response = page.request.get(f"{live_server.url}/{path}")
    assert response.status == 200 and response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.body())


def test_a_volunteer_and_a_host_subscribe_and_reset_their_feeds(page, live_server):
    area = neighbourhood()
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    page.goto(f"{live_server.url}/b/{booking.manage_token}")
    page.get_by_role("button", name="Get a calendar feed link").click()
    first = page.get_by_label("Your calendar feed").input_value()
    assert len(_feed(page, live_server).walk("VEVENT")) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == [], page.url
    page.get_by_role("button", name="Reset feed link").click()
    expect(page.get_by_text("the old one no longer works")).to_be_visible()
    assert page.get_by_label("Your calendar feed").input_value() != first
    assert page.request.get(live_server.url + "/" + first.split("/", 3)[3]).status == 404

    host = area.session.meeting_point.host
    host.set_password(PASSWORD)
    host.save()
    page.goto(f"{live_server.url}/host/login/")
    page.get_by_label("Email address").fill(host.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    page.goto(f"{live_server.url}/host/")
    page.get_by_role("button", name="Get a calendar feed link").click()
    events = _feed(page, live_server).walk("VEVENT")
    assert {str(e["UID"]).split("@")[0] for e in events} >= {f"slot-{area.slot.pk}", f"slot-{area.full_slot.pk}"}
    assert axe_violations(page) == [], page.url


def test_a_coordinator_downloads_bookings_from_the_exports_page(browser, live_server):
    from tests.web import coordinator_data as data

    area = neighbourhood()
    book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    data.staff(password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/coordinate/exports/")
    page.get_by_label("Email address").fill("coord")  # staff: a username works too
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/coordinate/exports/$"))
    assert axe_violations(page) == [], page.url
    page.get_by_role("region", name="Bookings").get_by_label("Status").select_option("confirmed")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download bookings (CSV)").click()
    assert download.value.suggested_filename == "bookings.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [row["status"] for row in rows] == ["confirmed"] and rows[0]["volunteer_phone"].startswith("'+44 7•••")
    page.goto(f"{live_server.url}/coordinate/exports/bookings.csv?date_from=2030-02-02&date_to=2030-02-01")
    expect(page.get_by_text("The end must be on or after the start.")).to_be_visible()
    context.close()

"""Sharing in Chromium at 375 px: a host publishes a session and copies its public link; a volunteer's private page
offers the calendar, map and "bring a friend" links. Found by role and name, axe-clean, nothing from another host."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions.models import CanvassSession
from tests.factories import book
from tests.web.conftest import axe_violations
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-password-9"


def _fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_host_publishes_a_session_and_copies_its_share_link(page, live_server, only_local_requests):
    area = neighbourhood()
    host = area.session.meeting_point.host
    host.set_password(PASSWORD)
    host.save()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/host/login/")
    page.get_by_label("Email address").fill(host.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    page.goto(f"{live_server.url}/host/sessions/new/")
    page.get_by_label("Title").fill("Walkley Sunday doors")
    page.get_by_label("Date").fill((timezone.localdate() + timedelta(days=4)).isoformat())
    slot = page.get_by_role("group", name="Slot 1")
    slot.get_by_label("Starts").fill("10:00")
    slot.get_by_label("Ends").fill("12:00")
    slot.get_by_label("Places").fill("5")
    page.get_by_role("button", name="Publish the session").click()

    expect(page.get_by_role("heading", name="Walkley Sunday doors")).to_be_visible()
    session = CanvassSession.objects.get(title="Walkley Sunday doors")
    public = f"{live_server.url}/s/{session.pk}/"
    share = page.get_by_role("region", name="Share this session")
    expect(share.get_by_role("link", name=public)).to_be_visible()
    expect(share.get_by_role("link", name="WhatsApp")).to_have_attribute("href", re.compile(r"^https://wa\.me/\?text="))
    expect(share.get_by_role("link", name="Text message")).to_have_attribute("href", re.compile(r"^sms:\?&body="))
    expect(share.get_by_role("link", name="Email")).to_have_attribute("href", re.compile(r"^mailto:\?subject="))
    share.get_by_role("button", name="Copy link").click()
    expect(share.get_by_text("Link copied.")).to_be_visible()  # in a polite live region
    assert page.evaluate("navigator.clipboard.readText()") == public
    _fits_the_phone(page)
    assert axe_violations(page) == []


def test_the_share_link_is_selectable_text_without_javascript(no_js_page, live_server):
    area = neighbourhood()
    page = no_js_page
    page.goto(f"{live_server.url}/s/{area.session.pk}/")
    share = page.get_by_role("region", name="Share this session")
    expect(share.get_by_role("link", name=f"{live_server.url}/s/{area.session.pk}/")).to_be_visible()
    expect(share.get_by_role("button", name="Copy link")).to_be_hidden()  # nothing that cannot work
    expect(share.get_by_role("link", name="WhatsApp")).to_be_visible()


def test_a_volunteers_page_offers_calendars_maps_and_bring_a_friend(page, live_server, only_local_requests):
    area = neighbourhood()
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    page.goto(f"{live_server.url}/b/{booking.manage_token}")
    expect(page.get_by_role("link", name="Add to my calendar")).to_be_visible()
    expect(page.get_by_role("link", name="Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/calendar/render\?action=TEMPLATE&"))
    expect(page.get_by_role("link", name="Outlook")).to_have_attribute(
        "href", re.compile(r"^https://outlook\.live\.com/calendar/0/deeplink/compose\?"))
    expect(page.get_by_role("link", name="Open in Maps")).to_have_attribute(
        "href", re.compile(r"^https://www\.google\.com/maps/search/\?api=1&query=14%20Secret%20Gardens"))
    friend = page.get_by_role("region", name="Bring a friend")
    expect(friend.get_by_role("link", name=f"{live_server.url}/s/{area.session.pk}/")).to_be_visible()
    assert booking.manage_token not in friend.inner_html()
    _fits_the_phone(page)
    assert axe_violations(page) == []

    page.get_by_role("button", name="Get a calendar feed link").click()
    expect(page.get_by_role("link", name="Subscribe on this device")).to_have_attribute(
        "href", re.compile(r"^webcal://[^/]+/feeds/volunteer/[A-Za-z0-9_-]{43}\.ics$"))
    expect(page.get_by_role("link", name="Subscribe in Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/calendar/render\?cid=webcal%3A%2F%2F"))
    _fits_the_phone(page)
    assert axe_violations(page) == []

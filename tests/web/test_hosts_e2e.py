"""The host journey in Chromium at 375 px: sign up, open a front room, post a session with three slots, see a
volunteer in the roster and mark their attendance; every host page scanned by axe."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from sessions.models import CanvassSession, Slot
from sessions.vetting import session_approve
from tests.factories import PostcodeFactory, SeatFactory, UserFactory
from tests.web.conftest import axe_violations, screenshot
from tests.web.host_data import book
from volunteers.models import Booking

pytestmark = pytest.mark.e2e


def _accessible(page):
    violations = axe_violations(page)
    assert violations == [], (page.url, violations)


def _fill_slot(page, number: int, starts: str, ends: str, places: str, turf: str):
    row = page.get_by_role("group", name=f"Slot {number}")
    row.get_by_label("Starts").fill(starts)
    row.get_by_label("Ends").fill(ends)
    row.get_by_label("Places").fill(places)
    row.get_by_label("Doors or streets").fill(turf)


def test_host_journey_from_sign_up_to_attendance(page, live_server, only_local_requests, transactional_db):
    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    base = live_server.url

    page.goto(base + "/host/login/")
    expect(page.get_by_role("heading", name="Sign in to host")).to_be_visible()
    _accessible(page)
    screenshot(page, "host-login")
    page.get_by_role("link", name="New here? Create a host account").click()

    # Sign up, with one mistake first: the error is announced and sits by its field.
    expect(page.get_by_role("heading", name="Host a canvass session")).to_be_visible()
    _accessible(page)
    page.get_by_label("Your first name").fill("Nia")
    page.get_by_label("Email address").fill("nia@example.org")
    page.get_by_label("Choose a password").fill("a-long-pass-phrase")
    page.get_by_label("The same password again").fill("a-different-phrase")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("alert")).to_contain_text("Not the same as the password above")
    expect(page.get_by_label("The same password again")).to_have_attribute("aria-invalid", "true")
    _accessible(page)
    page.get_by_label("Choose a password").fill("a-long-pass-phrase")
    page.get_by_label("The same password again").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Create my account").click()

    # Open a front room.
    expect(page.get_by_role("heading", name="Open your front room")).to_be_visible()
    _accessible(page)
    page.get_by_label("Name of the room").fill("Nia's front room")
    page.get_by_label("Street address").fill("12 Crookes Road\nSheffield")
    page.get_by_label("Postcode").fill("s10 1aa")
    page.get_by_label("How many people the room holds").fill("8")
    page.get_by_label("Accessibility notes").fill("Two steps at the door")
    page.get_by_role("button", name="Open my front room").click()

    # A session with three slots in one form.
    expect(page.get_by_role("heading", name="Post a session")).to_be_visible()
    _accessible(page)
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    page.get_by_label("Title").fill("Saturday in Crookes")
    page.get_by_label("Date").fill(day)
    _fill_slot(page, 1, "10:00", "12:00", "4", "Crookes Road, odd numbers")
    _fill_slot(page, 2, "12:30", "14:30", "4", "Crookes Road, even numbers")
    _fill_slot(page, 3, "15:00", "17:00", "6", "Springvale Road")
    screenshot(page, "host-session-form")
    page.get_by_role("button", name="Publish the session").click()

    expect(page.get_by_role("heading", name="Saturday in Crookes")).to_be_visible()
    # A new host's first session waits for an organiser's check (HOST_VETTING); one approves it.
    expect(page.get_by_text("Waiting for an organiser's check")).to_be_visible()
    session = CanvassSession.objects.get(title="Saturday in Crookes")
    assert session.status == CanvassSession.Status.REVIEW
    session_approve(user=UserFactory(username="organiser", is_staff=True), session_id=session.pk)
    page.reload()
    expect(page.get_by_text("Waiting for an organiser's check")).to_have_count(0)
    slots = list(session.slots.order_by("starts_at"))
    assert len(slots) == 3

    # A volunteer books the first slot (through the service, as the booking pages would), which then starts.
    booking = book(slots[0], name="Ann Volunteer", phone="07400 123456")
    started = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    Slot.objects.filter(pk=slots[0].pk).update(starts_at=started, ends_at=started + timedelta(hours=2))
    page.reload()
    roster = page.get_by_role("region", name=re.compile(r"–"))
    volunteer = page.get_by_role("listitem").filter(has_text="Ann Volunteer")
    expect(volunteer).to_be_visible()
    expect(volunteer.get_by_role("link", name="+447400123456")).to_be_visible()
    assert roster.count() == 3
    page.get_by_role("button", name="Ann Volunteer came").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded: Ann Volunteer came")
    expect(page.get_by_role("button", name="Ann Volunteer came")).to_have_attribute("aria-pressed", "true")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ATTENDED
    _accessible(page)
    screenshot(page, "host-roster")

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit Saturday in Crookes")).to_be_visible()
    _accessible(page)
    page.go_back()
    page.get_by_role("link", name="Copy to other dates").click()
    _accessible(page)
    page.go_back()
    page.get_by_role("link", name="Cancel the session").click()
    expect(page.get_by_text("0 volunteers have a place")).to_be_visible()  # Ann has come already
    _accessible(page)

    page.get_by_role("link", name="My sessions").click()
    expect(page.get_by_role("heading", name="My sessions", exact=True)).to_be_visible()
    expect(page.get_by_text("1 of 14 places booked")).to_be_visible()
    _accessible(page)
    screenshot(page, "host-sessions")

    page.get_by_role("link", name="Edit Nia's front room").click()
    _accessible(page)
    page.go_back()

    page.get_by_role("link", name="How I hear of bookings and cancellations").click()
    expect(page.get_by_role("heading", name="How you hear of bookings")).to_be_visible()
    _accessible(page)
    page.get_by_label("By text", exact=True).check()
    page.get_by_label("Your mobile number").fill("not a mobile")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_be_visible()  # the error summary, announced
    _accessible(page)
    page.get_by_label("Your mobile number").fill("07400 555552")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("We have texted a code to 07*** ***552")
    expect(page.get_by_label("By text", exact=True)).to_be_checked()
    # The mobile is texted nothing about bookings until the code texted to it is typed: a wrong one first.
    expect(page.get_by_role("heading", name="Prove your mobile")).to_be_visible()
    _accessible(page)
    code = re.search(r"code (\d{6})", SmsMessage.objects.get(kind="host_code").body).group(1)
    page.get_by_label("The 6-digit code we texted to your mobile").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Prove my mobile").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right.")
    expect(page.get_by_label("The 6-digit code we texted to your mobile")).to_have_attribute("aria-invalid", "true")
    _accessible(page)
    screenshot(page, "host-notifications-code")
    page.get_by_label("The 6-digit code we texted to your mobile").fill(code)
    page.get_by_role("button", name="Prove my mobile").click()
    expect(page.get_by_role("status")).to_contain_text("Your mobile is proven")
    expect(page.get_by_text("07*** ***552 is proven")).to_be_visible()
    _accessible(page)
    screenshot(page, "host-notifications")

    page.get_by_role("button", name="Sign out").click()
    page.goto(base + "/host/password-reset/")
    _accessible(page)
    page.get_by_label("The email address you sign in with").fill("nia@example.org")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    _accessible(page)


def test_the_session_form_works_without_javascript(no_js_page, live_server, transactional_db):
    from tests.factories import MeetingPointFactory, UserFactory

    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    host = UserFactory(username="priya", first_name="Priya")
    MeetingPointFactory(host=host, seat=seat, capacity=10)
    page = no_js_page
    page.goto(live_server.url + "/host/sessions/new/")
    page.get_by_label("Email address").fill("priya@example.org")
    page.get_by_label("Password").fill("a-long-password-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Post a session")).to_be_visible()
    page.get_by_label("Title").fill("No script needed")
    page.get_by_label("Date").fill((timezone.localdate() + timedelta(days=5)).isoformat())
    _fill_slot(page, 1, "10:00", "12:00", "4", "High Street")
    _fill_slot(page, 2, "12:30", "13:00", "4", "Not wanted")
    page.get_by_role("button", name="Add another slot").click()
    expect(page.get_by_role("group", name="Slot 4")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("No script needed")
    _fill_slot(page, 4, "13:00", "15:00", "4", "Low Street")
    page.get_by_role("button", name="Remove slot 2").click()
    expect(page.get_by_role("status")).to_contain_text("Slot 2 has been taken out.")
    expect(page.get_by_role("group", name="Slot 4")).to_have_count(0)
    expect(page.get_by_role("group", name="Slot 3").get_by_label("Doors or streets")).to_have_value("Low Street")
    page.get_by_role("button", name="Publish the session").click()
    expect(page.get_by_role("heading", name="No script needed")).to_be_visible()
    session = CanvassSession.objects.get(title="No script needed")
    assert [slot.turf for slot in session.slots.all()] == ["High Street", "Low Street"]

    # Editing: a slot is added and another marked for removal, with no script either.
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Add another slot").click()
    _fill_slot(page, 3, "16:00", "17:00", "2", "Evening round")
    page.get_by_role("button", name="Remove slot 1").click()
    expect(page.get_by_role("group", name="Slot 1")).to_contain_text("This slot will be removed when you save.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="No script needed")).to_be_visible()
    assert [slot.turf for slot in session.slots.all()] == ["Low Street", "Evening round"]


def test_host_approves_one_volunteer_and_refuses_another(page, browser, live_server, transactional_db):
    """A session that asks its host: the volunteer's page waits for the host's answer; the host approves on the
    roster and the volunteer's page then shows the address; another is refused after a confirmation step."""
    from tests.factories import MeetingPointFactory, SlotFactory, UserFactory

    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    host = UserFactory(username="priya", first_name="Priya")
    room = MeetingPointFactory(host=host, seat=seat, postcode="S10 1AA", address="7 Oakbrook Road\nSheffield")
    slot = SlotFactory(session__meeting_point=room, session__title="Approved volunteers only",
                       session__requires_approval=True, capacity=4)
    ann = book(slot, name="Ann Volunteer", phone="07400 123456")
    book(slot, name="Bob Volunteer", phone="07400 123457")

    volunteer = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-GB").new_page()
    volunteer.goto(f"{live_server.url}/b/{ann.manage_token}")
    expect(volunteer.get_by_role("status")).to_contain_text("Waiting for the host's answer")
    expect(volunteer.get_by_text("7 Oakbrook Road")).to_have_count(0)

    page.goto(f"{live_server.url}/host/sessions/{slot.session_id}/")
    page.get_by_label("Email address").fill("priya@example.org")
    page.get_by_label("Password").fill("a-long-password-9")
    page.get_by_role("button", name="Sign in").click()
    waiting = page.get_by_role("region", name="Waiting for your answer")
    expect(waiting.get_by_role("listitem")).to_have_count(2)
    _accessible(page)
    screenshot(page, "host-approvals")
    waiting.get_by_role("button", name="Approve Ann Volunteer").click()
    expect(page.get_by_role("status")).to_contain_text("Approved: Ann Volunteer")
    expect(waiting.get_by_role("listitem")).to_have_count(1)

    waiting.get_by_role("link", name="Refuse Bob Volunteer").click()
    expect(page.get_by_role("heading", name="Refuse Bob Volunteer?")).to_be_visible()
    _accessible(page)
    page.get_by_role("button", name="Refuse").click()  # the box unticked: asked again, nothing done
    expect(page.get_by_label("Yes, refuse this volunteer and text them")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Yes, refuse this volunteer and text them").check()
    page.get_by_role("button", name="Refuse").click()
    expect(page.get_by_role("status")).to_contain_text("Refused: Bob Volunteer")
    expect(page.get_by_role("region", name="Waiting for your answer")).to_have_count(0)

    volunteer.reload()
    expect(volunteer.get_by_role("status")).to_contain_text("You're booked")
    expect(volunteer.get_by_text("7 Oakbrook Road")).to_be_visible()
    volunteer.context.close()
    assert {b.approval for b in Booking.objects.filter(slot=slot)} == {Booking.Approval.APPROVED,
                                                                       Booking.Approval.REFUSED}


def _fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url


def test_a_host_signs_up_by_email_posts_three_slots_and_copies_them_to_two_more_saturdays(
        page, live_server, only_local_requests, transactional_db, settings):
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = live_server.url
    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    base = live_server.url
    mail.outbox.clear()

    page.goto(base + "/host/signup/")
    expect(page.get_by_text("You sign in with it.")).to_be_visible()  # and what is emailed, and how to stop it
    page.get_by_label("Your first name").fill("Nia")
    page.get_by_label("Email address").fill("Nia@Example.org")
    page.get_by_label("Choose a password").fill("12345678")
    page.get_by_label("The same password again").fill("12345678")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("alert")).to_contain_text("a password of digits only is quick to guess")
    expect(page.get_by_label("Choose a password")).to_have_attribute("aria-invalid", "true")
    _fits_the_phone(page)
    _accessible(page)
    screenshot(page, "host-signup")
    page.get_by_label("Choose a password").fill("a-long-pass-phrase")
    page.get_by_label("The same password again").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Open your front room")).to_be_visible()

    # The emailed link proves the address; signing out and in again is by email.
    link = re.search(r"https?://\S+/host/email/confirm/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("status")).to_contain_text("is confirmed")
    page.get_by_role("button", name="Sign out").click()
    page.goto(base + "/host/login/")
    page.get_by_label("Email address").fill("nia@example.org")
    page.get_by_label("Password").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My sessions", exact=True)).to_be_visible()

    page.get_by_role("link", name="Open your front room").first.click()
    page.get_by_label("Name of the room").fill("Nia's front room")
    page.get_by_label("Street address").fill("12 Crookes Road\nSheffield")
    page.get_by_label("Postcode").fill("s10 1aa")
    page.get_by_label("How many people the room holds").fill("8")
    page.get_by_role("button", name="Open my front room").click()

    # One date, three slots.
    today = timezone.localdate()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    expect(page.get_by_role("heading", name="Post a session")).to_be_visible()
    expect(page.get_by_label("What to bring")).to_have_value("")
    expect(page.get_by_label("What to bring")).to_have_attribute("placeholder", "Comfortable shoes and a charged phone")
    page.get_by_label("Title").fill("Saturday in Crookes")
    page.get_by_label("Date").fill(saturday.isoformat())
    _fill_slot(page, 1, "10:00", "12:00", "4", "Crookes Road, odd numbers")
    _fill_slot(page, 2, "12:30", "14:30", "4", "Crookes Road, even numbers")
    _fill_slot(page, 3, "15:00", "17:00", "6", "Springvale Road")
    _fits_the_phone(page)
    page.get_by_role("button", name="Publish the session").click()
    expect(page.get_by_role("heading", name="Saturday in Crookes")).to_be_visible()
    session = CanvassSession.objects.get(title="Saturday in Crookes")
    session_approve(user=UserFactory(username="organiser", is_staff=True), session_id=session.pk)
    page.reload()
    heading_day = f"{saturday:%A} {saturday.day} {saturday:%B}"
    expect(page.get_by_text(f"{heading_day}: 10:00–12:00, 12:30–14:30, 15:00–17:00")).to_be_visible()

    # Copied to the next two Saturdays at once.
    page.get_by_role("link", name="Copy to other dates").click()
    page.get_by_label("Every week on the same day, until").fill((saturday + timedelta(days=14)).isoformat())
    _fits_the_phone(page)
    _accessible(page)
    screenshot(page, "host-copy")
    page.get_by_role("button", name="Make the copies").click()
    expect(page.get_by_role("status")).to_contain_text("Copied to 2 dates")
    cards = page.get_by_role("listitem").filter(has_text="Saturday in Crookes")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text("0 of 14 places booked")
    _fits_the_phone(page)
    _accessible(page)
    screenshot(page, "host-sessions-copied")
    copies = CanvassSession.objects.exclude(pk=session.pk).order_by("starts_at")
    assert [timezone.localtime(c.starts_at).date() for c in copies] == [saturday + timedelta(days=7),
                                                                         saturday + timedelta(days=14)]
    assert {c.status for c in copies} == {CanvassSession.Status.PUBLISHED}  # an approved host's copies publish
    assert [c.slots.count() for c in copies] == [3, 3]

    # The last copy's public link, copied from its share panel.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    cards.last.get_by_role("link", name="Saturday in Crookes").click()
    share = page.get_by_role("region", name="Share this session")
    public = f"{base}/s/{copies.last().pk}/"
    expect(share.get_by_role("link", name=public)).to_be_visible()
    share.get_by_role("button", name="Copy link").click()
    expect(share.get_by_text("Link copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == public
    _fits_the_phone(page)
    _accessible(page)
    screenshot(page, "host-session")

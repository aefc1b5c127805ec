"""volunteers.calendar: every booking's .ics parses as RFC 5545, keeps its UID across changes, and shows the
address only when the volunteer may see it."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from sessions.services import slot_reschedule
from tests.factories import book
from tests.web.volunteer_data import ADDRESS, neighbourhood
from volunteers.calendar import BOOKING_RELATED, booking_calendar, calendar_domain
from volunteers.models import Booking, Volunteer
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db

REQUIRED = ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "LOCATION", "STATUS", "URL", "DESCRIPTION")


@pytest.fixture
def area():
    return neighbourhood()


def _reload(booking: Booking) -> Booking:
    return Booking.objects.select_related(*BOOKING_RELATED).get(pk=booking.pk)


def _parse(body: bytes):
    assert isinstance(body, bytes)
    cal = Calendar.from_ical(body)
    assert cal["VERSION"] == "2.0" and str(cal["PRODID"]).startswith("-//Frontroom//")
    events = cal.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    missing = [name for name in REQUIRED if name not in event]
    assert not missing, f"missing properties {missing}"
    return cal, event


def test_a_live_booking_is_a_request_with_the_address_and_the_private_link(area, settings):
    settings.FRONTROOM_DOMAIN = "frontroom.example"
    settings.PUBLIC_BASE_URL = "https://book.example.org"
    booking = _reload(book(area.slot, email="ann@example.org", proven=True))
    cal, event = _parse(booking_calendar(booking, method=None))
    assert cal["METHOD"] == "REQUEST"
    assert event["UID"] == f"booking-{booking.pk}@frontroom.example"
    assert event["STATUS"] == "CONFIRMED" and event.decoded("SEQUENCE") == booking.version
    assert event.decoded("DTSTART") == area.slot.starts_at and event.decoded("DTEND") == area.slot.ends_at
    assert "14 Secret Gardens Crookes, S10 1ZZ" == str(event["LOCATION"])
    link = f"https://book.example.org/b/{booking.manage_token}"
    assert str(event["URL"]) == link and link in str(event["DESCRIPTION"])
    # iTIP: an invitation names its organiser and the attendee it is for.
    assert str(event["ORGANIZER"]).startswith("mailto:") and str(event["ATTENDEE"]) == "mailto:ann@example.org"


def test_the_uid_domain_falls_back_to_the_public_base_urls_host(area, settings):
    settings.FRONTROOM_DOMAIN = ""
    settings.PUBLIC_BASE_URL = "https://book.example.org/"
    booking = _reload(book(area.slot, proven=True))
    _, event = _parse(booking_calendar(booking, method="PUBLISH"))
    assert event["UID"] == f"booking-{booking.pk}@book.example.org"


@pytest.mark.parametrize("change", ["unproven", "waitlisted", "approval_pending"])
def test_the_address_stays_hidden_until_the_volunteer_may_see_it(area, change):
    if change == "waitlisted":
        booking = book(area.full_slot, proven=True)
        assert booking.status == Booking.Status.WAITLISTED
    else:
        booking = book(area.slot, proven=change != "unproven")
        if change == "approval_pending":
            Booking.objects.filter(pk=booking.pk).update(approval=Booking.Approval.PENDING)
    cal, event = _parse(booking_calendar(_reload(booking), method=None))
    text = cal.to_ical().decode()
    assert ADDRESS.split("\n")[0] not in text and "S10 1ZZ" not in text
    assert str(event["LOCATION"]).startswith("S10 ")
    if change == "waitlisted":
        assert event["STATUS"] == "TENTATIVE"


def test_a_rescheduled_slot_is_an_update_same_uid_higher_sequence_new_times(area):
    booking = _reload(book(area.slot, proven=True))
    _, before = _parse(booking_calendar(booking, method=None))
    later = area.slot.starts_at + timedelta(days=1)
    slot_reschedule(user=area.session.meeting_point.host, slot_id=area.slot.pk, starts_at=later,
                    ends_at=later + timedelta(hours=2))
    cal, after = _parse(booking_calendar(_reload(booking), method=None))
    assert cal["METHOD"] == "REQUEST"
    assert after["UID"] == before["UID"]
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert after.decoded("DTSTART") == later


def test_a_cancelled_booking_is_a_cancel_with_the_same_uid_and_no_address(area):
    booking = _reload(book(area.slot, email="ann@example.org", proven=True))
    _, live = _parse(booking_calendar(booking, method=None))
    booking_cancel(manage_token=booking.manage_token)
    cal, cancelled = _parse(booking_calendar(_reload(booking), method=None))
    assert cal["METHOD"] == "CANCEL" and cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == live["UID"]
    assert cancelled.decoded("SEQUENCE") > live.decoded("SEQUENCE")
    assert ADDRESS.split("\n")[0] not in cal.to_ical().decode()
    assert cancelled["ATTENDEE"].params["PARTSTAT"] == "DECLINED"


def test_an_explicit_cancel_method_is_a_cancellation_even_before_the_status_changes(area):
    booking = _reload(book(area.slot, proven=True))
    cal, event = _parse(booking_calendar(booking, method="CANCEL"))
    assert cal["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"


def test_an_erased_volunteer_is_no_attendee(area):
    booking = book(area.slot, email="ann@example.org", proven=True)
    Volunteer.objects.filter(pk=booking.volunteer_id).update(anonymised_at=booking.created_at)
    _, event = _parse(booking_calendar(_reload(booking), method=None))
    assert "ATTENDEE" not in event


def test_an_unknown_method_is_refused(area):
    with pytest.raises(ValueError):
        booking_calendar(_reload(book(area.slot)), method="PUBLISH-ALL")


def test_bookings_on_one_slot_share_its_lines_but_each_keeps_its_own(area):
    # The slot's lines are serialised once and reused: nothing of one booking may reach another's file.
    shown = _reload(book(area.slot, email="ann@example.org", proven=True))
    hidden = _reload(book(area.slot, name="Bob Unproven", proven=False))
    again = _reload(book(area.slot, email="cat@example.org", proven=True))
    files = {booking.pk: _parse(booking_calendar(booking, method=None)) for booking in (shown, hidden, again)}
    for booking in (shown, hidden, again):
        cal, event = files[booking.pk]
        assert cal["METHOD"] == "REQUEST" and event["UID"] == f"booking-{booking.pk}@{calendar_domain()}"
        assert booking.manage_token in str(event["URL"]) and booking.manage_token in str(event["DESCRIPTION"])
        assert event.decoded("DTSTART") == area.slot.starts_at
    assert str(files[shown.pk][1]["ATTENDEE"]) == "mailto:ann@example.org"
    assert str(files[again.pk][1]["ATTENDEE"]) == "mailto:cat@example.org"
    assert "ATTENDEE" not in files[hidden.pk][1]
    address = "14 Secret Gardens Crookes, S10 1ZZ"
    assert str(files[shown.pk][1]["LOCATION"]) == str(files[again.pk][1]["LOCATION"]) == address
    assert str(files[hidden.pk][1]["LOCATION"]).startswith("S10 ")

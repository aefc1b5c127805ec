"""Private iCal feeds: a volunteer's bookings from the /b/ page, a host's sessions from the host pages; the token is
the only key, resettable, and a wrong one is the same 404 as any other page."""

import html
import re

import pytest
from django.test import Client
from icalendar import Calendar

from sessions.models import CanvassSession
from tests.factories import SlotFactory, UserFactory
from tests.factories import book as _book
from tests.web.volunteer_data import ADDRESS, VOLUNTEER_POSTCODE, neighbourhood
from volunteers.feeds import calendar_feed_ensure, feed_token
from volunteers.models import Booking, CalendarFeed
from volunteers.privacy import volunteer_personal_data_erase
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return neighbourhood()


def book(slot, phone=None, **kwargs) -> Booking:
    return _book(slot, phone, postcode=VOLUNTEER_POSTCODE, **kwargs)


def _feed_path(page: str) -> str:
    found = re.search(r'id="feed-url"[^>]*value="https?://[^/"]+(/feeds/[^"]+)"', html.unescape(page))
    assert found, "no feed link on the page"
    return found.group(1)


def _events(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"].startswith("private")
    return {str(event["UID"]): event for event in Calendar.from_ical(response.content).walk("VEVENT")}


def test_a_volunteer_gets_a_feed_of_their_bookings_from_their_page(client, area):
    first = book(area.slot, proven=True)
    second = book(area.other_slot, first.volunteer.phone, proven=True)
    assert second.volunteer_id == first.volunteer_id
    page = client.get(f"/b/{first.manage_token}").content.decode()
    assert "Get a calendar feed link" in page and 'id="feed-url"' not in page  # nothing made on a GET
    assert not CalendarFeed.objects.exists()
    made = client.post(f"/b/{first.manage_token}/feed/", follow=True)
    path = _feed_path(made.content.decode())
    assert path.startswith("/feeds/volunteer/") and path.endswith(".ics")
    events = _events(client.get(path))
    assert set(events) == {f"booking-{first.pk}@127.0.0.1", f"booking-{second.pk}@127.0.0.1"}
    assert ADDRESS.split("\n")[0] in str(events[f"booking-{first.pk}@127.0.0.1"]["LOCATION"])
    # The same link from the volunteer's other booking page: one feed per volunteer.
    assert _feed_path(client.get(f"/b/{second.manage_token}").content.decode()) == path


def test_a_cancelled_booking_stays_in_the_feed_as_a_cancelled_event(client, area):
    booking = book(area.slot, proven=True)
    feed = calendar_feed_ensure(volunteer=booking.volunteer)
    path = f"/feeds/volunteer/{feed_token(feed)}.ics"
    before = _events(client.get(path))[f"booking-{booking.pk}@127.0.0.1"]
    booking_cancel(manage_token=booking.manage_token)
    after = _events(client.get(path))[f"booking-{booking.pk}@127.0.0.1"]
    assert after["STATUS"] == "CANCELLED" and after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert ADDRESS.split("\n")[0] not in str(after["LOCATION"])


def test_resetting_the_feed_link_stops_the_old_one(client, area):
    booking = book(area.slot, proven=True)
    client.post(f"/b/{booking.manage_token}/feed/")
    old = _feed_path(client.get(f"/b/{booking.manage_token}").content.decode())
    assert client.get(old).status_code == 200
    reset = client.post(f"/b/{booking.manage_token}/feed/", {"reset": "1"}, follow=True)
    new = _feed_path(reset.content.decode())
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert CalendarFeed.objects.count() == 1


def test_wrong_tokens_are_the_same_404_as_any_unknown_page(client, area):
    booking = book(area.slot, proven=True)
    feed = calendar_feed_ensure(volunteer=booking.volunteer)
    token = feed_token(feed)
    ordinary = client.get("/no-such-page-at-all/")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in [f"/feeds/volunteer/{flipped}.ics", f"/feeds/host/{token}.ics",  # right token, wrong kind
                 f"/feeds/volunteer/{'x' * 43}.ics", "/feeds/volunteer/short.ics", f"/feeds/volunteer/{token}"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == ordinary["Content-Type"]
        assert response.content == ordinary.content, path


def test_an_erased_volunteers_feed_is_gone(client, area):
    booking = book(area.slot, proven=True)
    token = feed_token(calendar_feed_ensure(volunteer=booking.volunteer))
    volunteer_personal_data_erase(volunteer_id=booking.volunteer_id)
    assert client.get(f"/feeds/volunteer/{token}.ics").status_code == 404
    assert not CalendarFeed.objects.exists()


def test_a_host_gets_a_feed_of_their_slots_with_places_booked_and_no_names(area):
    host = area.session.meeting_point.host
    booked = book(area.slot, name="Grace Hopper", proven=True)
    waiting = book(area.full_slot, name="Alan Turing", proven=True)
    assert waiting.status == Booking.Status.WAITLISTED
    someone_else = SlotFactory()  # another host's session
    client = Client()
    client.force_login(host)
    home = client.get("/host/").content.decode()
    assert "Get a calendar feed link" in home
    made = client.post("/host/feed/", follow=True)
    path = _feed_path(made.content.decode())
    assert path.startswith("/feeds/host/")
    response = Client().get(path)  # a calendar app: no session cookie
    events = _events(response)
    body = response.content.decode()
    assert f"slot-{area.slot.pk}@127.0.0.1" in events and f"slot-{area.full_slot.pk}@127.0.0.1" in events
    assert f"slot-{someone_else.pk}@127.0.0.1" not in events
    assert f"slot-{area.other_slot.pk}@127.0.0.1" not in events  # Sam's, not this host's
    slot_event = events[f"slot-{area.slot.pk}@127.0.0.1"]
    assert "(1/3 booked)" in str(slot_event["SUMMARY"]) and "14 Secret Gardens" in str(slot_event["LOCATION"])
    assert "Waiting list: 1" in str(events[f"slot-{area.full_slot.pk}@127.0.0.1"]["DESCRIPTION"])
    assert "Grace" not in body and "Turing" not in body and booked.volunteer.phone not in body


def test_a_cancelled_session_shows_as_cancelled_in_the_hosts_feed(area):
    host = area.session.meeting_point.host
    token = feed_token(calendar_feed_ensure(host=host))
    CanvassSession.objects.filter(pk=area.session.pk).update(status=CanvassSession.Status.CANCELLED)
    events = _events(Client().get(f"/feeds/host/{token}.ics"))
    assert events[f"slot-{area.slot.pk}@127.0.0.1"]["STATUS"] == "CANCELLED"


def test_a_host_resets_their_feed_link(area):
    host = area.session.meeting_point.host
    old = feed_token(calendar_feed_ensure(host=host))
    client = Client()
    client.force_login(host)
    new = _feed_path(client.post("/host/feed/", {"reset": "1"}, follow=True).content.decode())
    assert client.get(f"/feeds/host/{old}.ics").status_code == 404
    assert client.get(new).status_code == 200


def test_the_feed_buttons_need_their_owner(client, area):
    response = client.post("/host/feed/")
    assert response.status_code == 302 and "/host/login/" in response["Location"]
    assert client.post("/b/not-a-real-token-at-all/feed/").status_code == 404
    assert not CalendarFeed.objects.exists()
    inactive = UserFactory(is_active=False)
    token = feed_token(calendar_feed_ensure(host=inactive))
    assert client.get(f"/feeds/host/{token}.ics").status_code == 404


def test_feeds_are_rate_limited_per_address(client, area, settings, ratelimit_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "feed_ip": "3/h"}
    booking = book(area.slot, proven=True)
    path = f"/feeds/volunteer/{feed_token(calendar_feed_ensure(volunteer=booking.volunteer))}.ics"
    for _ in range(2):
        assert client.get(path).status_code == 200
    assert client.get("/feeds/volunteer/" + "y" * 43 + ".ics").status_code == 404  # guesses count too
    assert client.get(path).status_code == 429
    assert client.get(path, REMOTE_ADDR="203.0.113.9").status_code == 200

"""The private link's page (/b/<token>) is cheap enough for a texted-link surge: one indexed read and no write on
GET once the phone has been shown its front room; the first showing is still recorded, once (the ledger)."""

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from tests.factories import SlotFactory, book
from volunteers import devices
from volunteers.feeds import calendar_feed_ensure
from volunteers.models import FrontRoomDisclosure
from web.volunteer.devices import device_cookie_set

pytestmark = pytest.mark.django_db
PHONE_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def _statements(client, url) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_USER_AGENT=PHONE_BROWSER)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]], response


def _remember(client, volunteer_id: int) -> None:
    response = HttpResponse()
    device_cookie_set(response, RequestFactory().get("/"), devices.device_remember(volunteer_id=volunteer_id))
    client.cookies.update(response.cookies)


@pytest.mark.parametrize("remembered", [False, True])
def test_a_proven_booking_shown_before_costs_one_read_and_no_write(client, postcode, remembered):
    slot = SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode)
    booking = book(slot, proven=True)
    calendar_feed_ensure(volunteer=booking.volunteer)
    if remembered:
        _remember(client, booking.volunteer_id)
    url = f"/b/{booking.manage_token}"
    _statements(client, url)
    assert FrontRoomDisclosure.objects.filter(volunteer=booking.volunteer).count() == 1  # shown: recorded once
    again, page = _statements(client, url)
    assert len(again) == 1, again
    assert again[0].lstrip().upper().startswith("SELECT")
    html = page.content.decode()
    assert slot.session.meeting_point.address.splitlines()[0] in html  # the address, as before
    assert "/feeds/volunteer/" in html  # the calendar feed, from the same read
    assert ("Forget this device" in html) is remembered
    assert FrontRoomDisclosure.objects.filter(volunteer=booking.volunteer).count() == 1


def test_an_unproven_booking_costs_one_read(client, postcode):
    booking = book(SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode))
    statements, page = _statements(client, f"/b/{booking.manage_token}")
    assert len(statements) == 1
    assert booking.slot.session.meeting_point.address not in page.content.decode()


def test_a_clash_is_still_named_from_the_one_read(client, postcode):
    first = SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode)
    other = SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode,
                        starts_at=first.starts_at, ends_at=first.ends_at)
    mine = book(first, proven=True)
    book(other, mine.volunteer.phone, proven=True)
    client.get(f"/b/{mine.manage_token}", HTTP_USER_AGENT=PHONE_BROWSER)
    statements, page = _statements(client, f"/b/{mine.manage_token}")
    assert other.session.title in page.content.decode()
    assert len(statements) == 2  # the read, then the clashing booking itself (rare)

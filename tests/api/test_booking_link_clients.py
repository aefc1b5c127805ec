"""The JSON API is read by programs: the texted page's list of link scanners (curl, python-requests...) is not its
business. A proven booking's holder sees the address whatever their HTTP client says it is."""

import pytest

from tests.factories import book

pytestmark = pytest.mark.django_db

PROGRAMS = ["curl/8.5.0", "Wget/1.21.4", "python-requests/2.32.3", "Go-http-client/2.0", "okhttp/4.12.0", ""]


@pytest.mark.parametrize("user_agent", PROGRAMS)
def test_a_proven_bookings_holder_sees_the_address_through_any_http_client(api, slot, user_agent):
    booking = book(slot, proven=True)
    shown = api.get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT=user_agent)
    assert shown.status_code == 200
    assert shown.json()["address"] == slot.session.meeting_point.address


def test_an_unproven_booking_still_shows_no_address_to_any_client(api, slot):
    booking = book(slot)
    for user_agent in [*PROGRAMS, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"]:
        shown = api.get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT=user_agent).json()
        assert shown["address"] is None and shown["meeting_place"] is None

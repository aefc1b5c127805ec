"""A regional organiser reaching outside their seats, over HTTP against the live server: each try is refused
and changes nothing."""

import pytest
import requests

from dispatch.models import AssignmentRun, OverflowMove
from seats.models import Seat
from tests.dispatch import factories as f
from tests.factories import AssignmentRunFactory, OrganiserScopeFactory, token_for
from volunteers.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def south(settings):
    settings.OVERFLOW_AUTO = False
    north = f.seat("E14000201", lat=53.37, lng=-1.55, priority=2, name="Northtown", region="North")
    seat = f.seat("E14000301", lat=51.37, lng=-0.09, priority=2, name="Southville", region="South")
    next_door = f.seat("E14000302", lat=51.38, lng=-0.10, priority=1, name="Southend", region="South")
    f.adjacent(seat, next_door)
    f.adjacent(seat, north)
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 1)]).slots.get()
    f.session(next_door, slots=[(f.day_at(10), f.day_at(12), 5)])
    f.session(north, slots=[(f.day_at(10), f.day_at(12), 5)])
    f.fill(slot, near=seat)
    waiting = f.book(f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=None), slot)
    run = AssignmentRunFactory(params={"region": "South", "seats": []})
    return seat, waiting, run


@pytest.fixture
def organiser_headers():
    user = f.user("regional")
    OrganiserScopeFactory(user=user, regions=["North"])
    return {"Authorization": f"Token {token_for(user)}"}


def test_a_regional_organiser_cannot_move_run_read_or_reprioritise_another_region(live_server, south,
                                                                                    organiser_headers):
    seat, waiting, run = south
    base, headers = live_server.url, organiser_headers
    tries = [
        requests.post(f"{base}/api/dispatch/overflow/", json={"seat": seat.pk}, headers=headers, timeout=10),
        requests.post(f"{base}/api/dispatch/overflow/", json={"session": waiting.slot.session_id},
                      headers=headers, timeout=10),
        requests.post(f"{base}/api/dispatch/overflow/", json={"seat": "E14000201", "target_seats": [seat.pk]},
                      headers=headers, timeout=10),
        requests.get(f"{base}/api/dispatch/runs/{run.pk}/", headers=headers, timeout=10),
        requests.post(f"{base}/api/dispatch/runs/{run.pk}/commit/", headers=headers, timeout=10),
        requests.post(f"{base}/api/dispatch/runs/", json={"date_from": f.day_at(0).isoformat(),
                                                          "date_to": f.day_at(23).isoformat(), "region": "South"},
                      headers=headers, timeout=10),
        requests.get(f"{base}/api/dispatch/coverage/?region=South", headers=headers, timeout=10),
        requests.patch(f"{base}/api/seats/{seat.pk}/priority/", json={"priority_override": 5}, headers=headers,
                       timeout=10),
        requests.get(f"{base}/api/exports/bookings/?seat={seat.pk}", headers=headers, timeout=10),
        requests.get(f"{base}/api/webhooks/endpoints/", headers=headers, timeout=10),
        requests.get(f"{base}/api/sms/messages/", headers=headers, timeout=10),
    ]
    assert [response.status_code for response in tries] == [404, 404, 404, 404, 404, 403, 403, 404, 404, 403, 403]
    assert all(response.headers["Content-Type"].startswith("application/json") for response in tries)
    assert Booking.objects.get(pk=waiting.pk).status == Booking.Status.WAITLISTED
    assert not OverflowMove.objects.exists() and AssignmentRun.objects.count() == 1
    assert Seat.objects.get(pk=seat.pk).priority_override is None

"""Cars in an assignment run (issue 24): riders who need a lift and are too far to travel on their own are placed
in the car of a driver near them, in the driver's slot, never beyond the car's seats or the slot's places."""

import pytest

from dispatch.models import ProposedAssignment
from dispatch.services.assignment import run_execute, run_start
from tests.dispatch import factories as f
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db

WINDOW = [(f.day_at(9), f.day_at(16))]


def _traveller(travel: str, *, lat: float, lng: float, seats: int = 0, max_travel_km: float = 10, windows=WINDOW):
    volunteer = f.volunteer(lat=lat, lng=lng, max_travel_km=max_travel_km, windows=windows)
    Volunteer.objects.filter(pk=volunteer.pk).update(travel=travel, car_seats=seats)
    return volunteer


def _run():
    run = run_start(user=f.user("coord"), date_from=f.day_at(0), date_to=f.day_at(23), enqueue=False)
    return run_execute(run_id=run.pk)


@pytest.fixture
def seat():
    seat = f.seat("E14000101", lat=53.37, lng=-1.55, priority=1, region="Yorkshire")
    f.session(seat, slots=[(f.day_at(10), f.day_at(12), 5)])
    return seat


def _placed(volunteer) -> ProposedAssignment:
    return ProposedAssignment.objects.get(volunteer=volunteer)


def test_a_rider_too_far_alone_rides_in_a_nearby_drivers_car_to_the_drivers_slot(seat):
    # 40 km north of the session: too far for the rider's 10 km; the driver, 2 km away, goes up to 50 km.
    driver = _traveller("driver", lat=53.73, lng=-1.55, seats=2, max_travel_km=50)
    rider = _traveller("needs_lift", lat=53.74, lng=-1.56)
    alone = _traveller("own", lat=53.74, lng=-1.56)  # the same place, no lift asked for: left out
    run = _run()
    assert _placed(driver).slot_id is not None
    assert _placed(rider).slot_id == _placed(driver).slot_id and _placed(rider).lift_driver_id == driver.pk
    assert _placed(rider).distance_km < 2  # the rider's own travel: to the car
    assert _placed(alone).slot_id is None
    assert run.totals["by_lift"] == 1 and run.totals["needs_lift_unplaced"] == 0


def test_a_car_takes_no_more_riders_than_its_seats_nor_the_slot_more_than_its_places(seat):
    driver = _traveller("driver", lat=53.73, lng=-1.55, seats=2, max_travel_km=50)
    riders = [_traveller("needs_lift", lat=53.74, lng=-1.56) for _ in range(4)]
    run = _run()
    assert sum(_placed(r).lift_driver_id == driver.pk for r in riders) == 2
    assert run.totals["by_lift"] == 2 and run.totals["needs_lift_unplaced"] == 2



def test_a_slot_takes_no_more_riders_than_its_places_left():
    seat = f.seat("E14000102", lat=53.90, lng=-1.55, priority=1, region="Yorkshire")
    f.session(seat, slots=[(f.day_at(10), f.day_at(12), 2)])  # room for the driver and one rider
    driver = _traveller("driver", lat=53.95, lng=-1.55, seats=4, max_travel_km=8)
    riders = [_traveller("needs_lift", lat=53.96, lng=-1.55, max_travel_km=3) for _ in range(3)]
    run = _run()
    assert _placed(driver).slot_id is not None
    assert sum(_placed(r).lift_driver_id == driver.pk for r in riders) == 1
    assert run.totals["by_lift"] == 1


def test_a_rider_busy_at_the_drivers_time_or_out_of_reach_is_not_placed(seat):
    driver = _traveller("driver", lat=53.73, lng=-1.55, seats=3, max_travel_km=50)
    busy = _traveller("needs_lift", lat=53.74, lng=-1.56, windows=[(f.day_at(13), f.day_at(16))])
    far = _traveller("needs_lift", lat=53.90, lng=-1.56, max_travel_km=30)  # 19 km from the car: past LIFT_PICKUP_KM
    _run()
    assert _placed(driver).slot_id is not None
    assert _placed(busy).slot_id is None and _placed(far).slot_id is None


def test_committing_a_run_books_the_riders_with_their_driver(seat):
    from dispatch.services.assignment import run_commit, run_commit_execute
    from volunteers.models import Booking

    driver = _traveller("driver", lat=53.73, lng=-1.55, seats=2, max_travel_km=50)
    rider = _traveller("needs_lift", lat=53.74, lng=-1.56)
    run = _run()
    run_commit(run_id=run.pk, user=f.user("coord"), enqueue=False)
    run_commit_execute(run_id=run.pk)
    slots = dict(Booking.objects.values_list("volunteer_id", "slot_id"))
    assert slots[rider.pk] == slots[driver.pk]


def test_the_api_signup_and_change_say_how_a_volunteer_travels(seat):
    from rest_framework.test import APIClient

    from tests.factories import PostcodeFactory, texted_code

    PostcodeFactory(postcode="S10 2TN", lat=53.38, lng=-1.50)
    body = {"name": "Dana", "mobile": "07400 111222", "postcode": "S10 2TN", "max_travel_km": 20,
            "availability": [{"starts_at": f.day_at(9).isoformat(), "ends_at": f.day_at(16).isoformat()}],
            "travel": "driver", "car_seats": 3}
    api = APIClient()
    challenge = api.post("/api/volunteers/", body, format="json").json()["challenge"]
    signed = api.post(f"/api/challenges/{challenge}/verify/", {"code": texted_code(challenge)}, format="json").json()
    assert (signed["travel"], signed["car_seats"]) == ("driver", 3)
    changed = api.patch(f"/api/volunteers/{signed['token']}/", {"travel": "needs_lift"}, format="json").json()
    assert (changed["travel"], changed["car_seats"]) == ("needs_lift", 0)
    bad = api.post("/api/volunteers/", {**body, "mobile": "07400 111333", "car_seats": 0}, format="json")
    assert bad.status_code == 400 and "car_seats" in bad.json()["error"]["fields"]

def test_a_rider_whose_driver_cannot_be_booked_at_commit_is_skipped_not_stranded(seat):
    from dispatch.services.assignment import SKIP_LIFT_DRIVER_NOT_BOOKED, run_commit, run_commit_execute
    from volunteers.models import Booking

    driver = _traveller("driver", lat=53.73, lng=-1.55, seats=2, max_travel_km=50)
    rider = _traveller("needs_lift", lat=53.74, lng=-1.56)
    run = _run()
    slot_id = _placed(driver).slot_id
    # Between the run and its commit the driver books elsewhere at that time: the car will not go to the slot.
    other = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    f.book(driver, other)
    run_commit(run_id=run.pk, user=f.user("coord"), enqueue=False)
    run = run_commit_execute(run_id=run.pk)
    assert not Booking.objects.filter(volunteer=rider, slot_id=slot_id).exists()
    assert _placed(rider).reason == SKIP_LIFT_DRIVER_NOT_BOOKED
    assert run.totals["skipped_at_commit"].get(SKIP_LIFT_DRIVER_NOT_BOOKED) == 1

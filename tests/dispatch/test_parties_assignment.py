"""Parties in assignment runs (issue 24): a sign-up's whole party in one slot or none, never over a slot's free
places; commit books one booking of the party's size or skips it with the reason; cars count parties in seats."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.models import AssignmentRun, ProposedAssignment
from dispatch.services import assignment
from dispatch.solver import assignment_solve, pair_value, party_assignment_solve
from tests.dispatch import factories as f
from tests.factories import BookingFactory, booking_ask
from volunteers.models import Booking, Volunteer

WINDOW = [(f.day_at(9), f.day_at(16))]


# The solver on its own: brute force over every placement of whole parties.

def brute_force(sizes: list[int], capacities: list[int], arcs: list[tuple[int, int, int]]) -> int:
    options = [[None] + [(s, v) for vol, s, v in arcs if vol == i] for i in range(len(sizes))]
    best = 0
    for combo in itertools.product(*options):
        used, total = [0] * len(capacities), 0
        for i, choice in enumerate(combo):
            if choice is not None:
                used[choice[0]] += sizes[i]
                total += sizes[i] * choice[1]
        if all(u <= c for u, c in zip(used, capacities, strict=True)):
            best = max(best, total)
    return best


@st.composite
def party_instances(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    capacities = draw(st.lists(st.integers(0, 6), min_size=m, max_size=m))
    arcs = []
    for v in range(n):
        for s in draw(st.sets(st.integers(0, m - 1), max_size=m)):
            arcs.append((v, s, pair_value(distance_km=draw(st.floats(0, 100, allow_nan=False)),
                                          priority=draw(st.integers(1, 5)))))
    return sizes, capacities, arcs


def _party_solve(sizes, capacities, arcs):
    return party_assignment_solve(sizes=sizes, capacities=capacities, vol=[a[0] for a in arcs],
                                  slot=[a[1] for a in arcs], value=[a[2] for a in arcs])


@settings(max_examples=200, deadline=None)
@given(party_instances())
def test_whole_parties_never_over_a_slot_and_optimal_whenever_the_run_says_so(instance):
    sizes, capacities, arcs = instance
    solution = _party_solve(sizes, capacities, arcs)
    value_of = {(v, s): val for v, s, val in arcs}
    used, total = [0] * len(capacities), 0
    for v, s in enumerate(solution.choice.tolist()):
        if s >= 0:  # a sign-up has one slot: its whole party is there
            assert (v, s) in value_of
            used[s] += sizes[v]
            total += sizes[v] * value_of[(v, s)]
    assert all(u <= c for u, c in zip(used, capacities, strict=True)), (used, capacities)
    assert total == solution.objective
    best = brute_force(sizes, capacities, arcs)
    assert solution.objective <= best <= solution.bound
    if solution.optimal:
        assert solution.objective == best


@settings(max_examples=80, deadline=None)
@given(party_instances())
def test_without_parties_it_is_the_exact_flow(instance):
    _, capacities, arcs = instance
    n = 1 + max([a[0] for a in arcs], default=0)
    solution = _party_solve([1] * n, capacities, arcs)
    exact = assignment_solve(n_volunteers=n, capacities=capacities, vol=[a[0] for a in arcs],
                             slot=[a[1] for a in arcs], value=[a[2] for a in arcs])
    assert solution.optimal and solution.objective == exact.objective == brute_force([1] * n, capacities, arcs)


def test_a_party_the_relaxation_splits_is_repaired_whole_or_left_out():
    # Two slots of 2 places; a party of 3 worth more in slot 0 than two solos: as solos the flow splits it 2 + 1.
    sizes, capacities = [3, 1], [2, 2]
    arcs = [(0, 0, 2000), (0, 1, 1900), (1, 0, 1000)]
    solution = _party_solve(sizes, capacities, arcs)
    assert solution.split == 1 and solution.choice[0] == -1  # room for 3 nowhere: never split
    assert solution.choice[1] == 0 and not solution.optimal and solution.objective < solution.bound


# Runs on PostgreSQL.

@pytest.fixture
def seat(db):
    return f.seat("E14000201", lat=53.37, lng=-1.55, priority=1, region="Yorkshire")


def _party(size: int, *, names: str = "", travel: str = "own", seats: int = 0, lat=53.37, lng=-1.55,
           max_travel_km=10):
    volunteer = f.volunteer(lat=lat, lng=lng, max_travel_km=max_travel_km, windows=WINDOW)
    Volunteer.objects.filter(pk=volunteer.pk).update(party_size=size, party_names=names, travel=travel,
                                                     car_seats=seats)
    return volunteer


def _solved():
    run = assignment.run_start(user=None, date_from=f.day_at(0), date_to=f.day_at(23), enqueue=False)
    return assignment.run_execute(run_id=run.pk)


def _commit(run):
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    return assignment.run_commit_execute(run_id=run.pk)


def test_a_party_goes_whole_to_a_slot_with_room_for_all_of_it(seat):
    small = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    roomy = f.session(seat, lat=53.40, slots=[(f.day_at(10), f.day_at(12), 4)]).slots.get()  # 3 km further
    party = _party(3, names="Ann, Bob")
    run = _solved()
    proposal = ProposedAssignment.objects.get(run=run, volunteer=party)
    assert (proposal.slot_id, proposal.party_size) == (roomy.pk, 3)
    assert run.totals["assigned_places"] == 3 and run.totals["parties"]["placed"] == 1
    assert run.totals["parties"]["optimal"] is True
    run = _commit(run)
    booking = Booking.objects.get(volunteer=party)
    assert (booking.slot_id, booking.party_size, booking.party_names) == (roomy.pk, 3, "Ann, Bob")
    assert booking.source == Booking.Source.ASSIGNED and run.totals["booked"] == 1
    roomy.refresh_from_db()
    small.refresh_from_db()
    assert (roomy.confirmed_count, small.confirmed_count) == (3, 0)
    again = _commit(run)  # a second commit does nothing
    assert again.state == AssignmentRun.State.COMMITTED and Booking.objects.count() == 1
    roomy.refresh_from_db()
    assert roomy.confirmed_count == 3


def test_a_party_bigger_than_any_slot_s_free_places_is_not_placed_at_all(seat):
    f.session(seat, slots=[(f.day_at(10), f.day_at(12), 2)])
    party, solo = _party(3), _party(1)
    run = _solved()
    assert ProposedAssignment.objects.get(run=run, volunteer=party).slot_id is None
    assert ProposedAssignment.objects.get(run=run, volunteer=solo).slot_id is not None
    assert run.totals["parties"]["unplaced"] == 1


def test_parties_and_solos_never_fill_a_slot_past_its_places(seat):
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 7)]).slots.get()
    people = [_party(size) for size in (3, 3, 2, 1, 1, 1)]
    run = _commit(_solved())
    slot.refresh_from_db()
    booked = list(Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED))
    assert slot.confirmed_count == sum(b.party_size for b in booked) == 7 == run.totals["assigned_places"]
    sizes = {v.pk: Volunteer.objects.get(pk=v.pk).party_size for v in people}
    assert all(b.party_size == sizes[b.volunteer_id] for b in booked)  # each party whole, one booking


def test_a_party_that_no_longer_fits_at_commit_is_skipped_with_the_reason_and_nothing_booked(seat):
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 4)]).slots.get()
    f.postcode("S10 1AA", lat=53.37, lng=-1.55, seat_code=seat.pk)
    party = _party(3)
    run = _solved()
    booking_ask(slot_id=slot.pk, name="Hand", phone="+447400123123", postcode="S10 1AA", party_size=2)
    slot.refresh_from_db()
    assert slot.confirmed_count == 2
    run = _commit(run)
    proposal = ProposedAssignment.objects.get(run=run, volunteer=party)
    assert (proposal.outcome, proposal.reason) == (ProposedAssignment.Outcome.SKIPPED,
                                                   assignment.SKIP_PARTY_NO_ROOM)
    assert run.totals["skipped_at_commit"] == {assignment.SKIP_PARTY_NO_ROOM: 1} and run.totals["booked"] == 0
    assert not Booking.objects.filter(volunteer=party).exists()
    slot.refresh_from_db()
    assert slot.confirmed_count == 2  # none of the party's places taken


def test_a_cancelled_party_row_is_reused_with_the_run_s_party(seat):
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 6)]).slots.get()
    party = _party(2, names="Cy")
    BookingFactory(volunteer=party, slot=slot, status=Booking.Status.CANCELLED, party_size=5)
    _commit(_solved())
    booking = Booking.objects.get(volunteer=party)
    assert (booking.status, booking.party_size, booking.party_names) == (Booking.Status.CONFIRMED, 2, "Cy")
    slot.refresh_from_db()
    assert slot.confirmed_count == 2


# Cars: the driver's party sits in the car; a rider's party rides whole.

@pytest.fixture
def far_slot(seat):
    return f.session(seat, slots=[(f.day_at(10), f.day_at(12), 10)]).slots.get()


def _far(travel, size=1, seats=0):
    # 40 km north: riders (10 km alone) need the car; drivers go up to 50 km.
    return _party(size, travel=travel, seats=seats, lat=53.73 if travel == "driver" else 53.74,
                  lng=-1.55 if travel == "driver" else -1.56, max_travel_km=50 if travel == "driver" else 10)


def test_a_driver_s_party_takes_seats_in_their_own_car(far_slot):
    driver = _far("driver", size=3, seats=4)  # room for 4 others: the driver's 2 companions and 2 riders
    riders = [_far("needs_lift") for _ in range(4)]
    run = _solved()
    in_car = [r for r in riders if ProposedAssignment.objects.get(run=run, volunteer=r).lift_driver_id == driver.pk]
    assert len(in_car) == 2 and run.totals["by_lift"] == 2
    assert ProposedAssignment.objects.get(run=run, volunteer=driver).party_size == 3


def test_a_rider_s_party_rides_whole_in_one_car_or_not_at_all(far_slot):
    small = _far("driver", seats=1)
    rider = _far("needs_lift", size=2)
    run = _solved()
    assert ProposedAssignment.objects.get(run=run, volunteer=rider).slot_id is None
    big = _far("driver", seats=2)
    run = _commit(_solved())
    proposal = ProposedAssignment.objects.get(run=run, volunteer=rider)
    assert (proposal.lift_driver_id, proposal.party_size) == (big.pk, 2)
    assert small.pk != big.pk
    booking = Booking.objects.get(volunteer=rider)
    assert booking.party_size == 2 and booking.slot_id == Booking.objects.get(volunteer=big).slot_id


def test_the_run_s_objective_counts_each_person_of_a_party(seat):
    f.session(seat, slots=[(f.day_at(10), f.day_at(12), 5)])
    party = _party(3)
    run = _solved()
    proposal = ProposedAssignment.objects.get(run=run, volunteer=party)
    per_person = pair_value(distance_km=proposal.distance_km, priority=1)
    assert proposal.value == 3 * per_person == run.totals["objective"]
    assert run.totals["parties"]["bound"] == run.totals["parties"]["objective"]
    assert np.isclose(proposal.distance_km, 0, atol=0.01)


# The sign-up API.

def _signup_body(**extra):
    return {"name": "Dana", "mobile": "07400 111222", "postcode": "S10 2TN", "max_travel_km": 20,
            "availability": [{"starts_at": f.day_at(9).isoformat(), "ends_at": f.day_at(16).isoformat()}], **extra}


def test_the_api_signup_takes_a_party_and_names_the_field_when_it_is_wrong(seat):
    from rest_framework.test import APIClient

    from tests.factories import PostcodeFactory, texted_code

    PostcodeFactory(postcode="S10 2TN", lat=53.38, lng=-1.50)
    api = APIClient()
    for bad, field in (({"party_size": 0}, "party_size"), ({"party_size": 7}, "party_size"),  # over PARTY_MAX (6)
                       ({"party_size": 2, "party_names": ["Ann", "Bob"]}, "party_names"),
                       ({"party_size": "many"}, "party_size"), ({"party_size": 21}, "party_size")):
        answer = api.post("/api/volunteers/", _signup_body(**bad), format="json")
        assert answer.status_code == 400, (bad, answer.json())
        assert list(answer.json()["error"]["fields"]) == [field], (bad, answer.json())
    assert not Volunteer.objects.filter(name="Dana").exists()
    challenge = api.post("/api/volunteers/", _signup_body(party_size=3, party_names=["Ann", "Bob"]),
                         format="json").json()["challenge"]
    signed = api.post(f"/api/challenges/{challenge}/verify/", {"code": texted_code(challenge)}, format="json").json()
    assert (signed["party_size"], signed["party_names"]) == (3, ["Ann", "Bob"])
    changed = api.patch(f"/api/volunteers/{signed['token']}/", {"party_size": 2, "party_names": ["Ann"]},
                        format="json").json()
    assert (changed["party_size"], changed["party_names"]) == (2, ["Ann"])
    refused = api.patch(f"/api/volunteers/{signed['token']}/", {"party_size": 9}, format="json")
    assert refused.status_code == 400 and "party_size" in refused.json()["error"]["fields"]


def test_the_schema_documents_the_sign_up_s_party(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    register = schema["VolunteerRegisterRequest"]["properties"]
    assert register["party_size"]["minimum"] == 1 and register["party_names"]["type"] == "array"
    assert {"party_size", "party_names"} <= set(schema["VolunteerRegistered"]["properties"])
    assert "party_size" in schema["PatchedVolunteerChangeRequest"]["properties"]


def test_erasing_a_volunteer_blanks_their_sign_up_s_party_names(seat):
    from volunteers.privacy import volunteer_personal_data_erase

    party = _party(3, names="Ann, Bob")
    assert volunteer_personal_data_erase(volunteer_id=party.pk)
    party.refresh_from_db()
    assert (party.party_names, party.party_size) == ("", 3)

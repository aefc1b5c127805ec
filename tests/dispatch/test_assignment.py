from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from dispatch.models import AssignmentRun, CoordinatorAction, ProposedAssignment
from tests.dispatch import factories as f
from tests.factories import AssignmentRunFactory
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Seat A (priority 1, two places) and seat B (priority 4, three places) 5 km apart; five volunteers."""
    a = f.seat("E14000101", lat=53.37, lng=-1.55, priority=1, region="Yorkshire")
    b = f.seat("E14000102", lat=53.37, lng=-1.475, priority=4, region="Yorkshire")
    slot_a = f.session(a, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    slot_b = f.session(b, slots=[(f.day_at(10), f.day_at(12), 3)]).slots.get()
    window = [(f.day_at(9), f.day_at(16))]
    near_b = [f.volunteer(lat=b.lat, lng=b.lng, max_travel_km=10, windows=window) for _ in range(4)]
    too_far = f.volunteer(lat=54.5, lng=-1.5, max_travel_km=10, windows=window)
    wrong_time = f.volunteer(lat=b.lat, lng=b.lng, max_travel_km=10, windows=[(f.day_at(13), f.day_at(16))])
    return {"a": a, "b": b, "slot_a": slot_a, "slot_b": slot_b, "near_b": near_b, "too_far": too_far,
            "wrong_time": wrong_time}


def _coordinator_client():
    client = APIClient()
    client.force_authenticate(f.user("coord"))
    return client


def _period():
    return {"date_from": f.day_at(0).isoformat(), "date_to": f.day_at(23).isoformat()}


def test_run_solves_in_the_background_and_books_nothing_until_commit(world, django_capture_on_commit_callbacks):
    client = _coordinator_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/dispatch/runs/", _period(), format="json")
    assert response.status_code == 202, response.json()
    run = client.get(f"/api/dispatch/runs/{response.json()['id']}/").json()
    assert run["state"] == "ready" and run["progress"] == 100
    totals = run["totals"]
    assert totals["assigned"] == 4
    assert totals["unassigned_by_reason"] == {"no_slot_within_travel_limit": 1, "no_slot_at_available_times": 1}
    seats = {row["seat"]: row for row in totals["seats"]}
    assert seats["E14000101"]["assigned"] == 2  # the priority-1 seat is filled first, despite the travel
    assert seats["E14000102"]["assigned"] == 2
    assert totals["travel_km_median"] is not None and totals["travel_km_total"] > 0
    assert Booking.objects.count() == 0


def test_commit_books_emits_events_and_a_second_commit_does_nothing(world, django_capture_on_commit_callbacks):
    client = _coordinator_client()
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client.post("/api/dispatch/runs/", _period(), format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/api/dispatch/runs/{run_id}/commit/")
    assert first.status_code == 202
    run = AssignmentRun.objects.get(pk=run_id)
    assert run.state == AssignmentRun.State.COMMITTED and run.totals["booked"] == 4
    bookings = Booking.objects.filter(source=Booking.Source.ASSIGNED, status=Booking.Status.CONFIRMED)
    assert bookings.count() == 4
    assert BookingEvent.objects.filter(kind=BookingEvent.Kind.CONFIRMED, payload__run=run_id).count() == 4
    world["slot_a"].refresh_from_db()
    assert world["slot_a"].confirmed_count == 2
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(f"/api/dispatch/runs/{run_id}/commit/")
    assert second.status_code == 202 and second.json()["state"] == "committed"
    assert Booking.objects.count() == 4
    assert list(CoordinatorAction.objects.filter(run_id=run_id).values_list("kind", flat=True).order_by("id")) == [
        "run_started", "run_committed"]


def test_hand_bookings_during_the_run_are_never_overbooked(world, django_capture_on_commit_callbacks):
    client = _coordinator_client()
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client.post("/api/dispatch/runs/", _period(), format="json").json()["id"]
    # Meanwhile two people book slot A by hand, and one proposed volunteer books slot B themselves.
    f.fill(world["slot_a"], near=world["a"], n=2)
    proposed_b = ProposedAssignment.objects.filter(run_id=run_id, slot=world["slot_b"]).first()
    f.book(proposed_b.volunteer, world["slot_b"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/dispatch/runs/{run_id}/commit/")
    run = AssignmentRun.objects.get(pk=run_id)
    assert run.totals["booked"] == 1
    assert run.totals["skipped_at_commit"] == {"slot_full": 2, "already_booked": 1}
    for slot in (world["slot_a"], world["slot_b"]):
        slot.refresh_from_db()
        assert slot.confirmed_count <= slot.capacity
        assert slot.confirmed_count == Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count()


def test_run_api_checks_permissions_and_input(world):
    anonymous = APIClient()
    assert anonymous.post("/api/dispatch/runs/", _period(), format="json").status_code in (401, 403)
    volunteer_user = APIClient()
    volunteer_user.force_authenticate(f.user("host", staff=False))
    assert volunteer_user.post("/api/dispatch/runs/", _period(), format="json").status_code == 403
    client = _coordinator_client()
    backwards = {"date_from": f.day_at(20).isoformat(), "date_to": f.day_at(8).isoformat()}
    response = client.post("/api/dispatch/runs/", backwards, format="json")
    assert response.status_code == 400 and "date_to" in response.json()["error"]["fields"]
    response = client.post("/api/dispatch/runs/", {**_period(), "seats": ["E99999999"]}, format="json")
    assert response.status_code == 400 and "seats" in response.json()["error"]["fields"]
    response = client.post("/api/dispatch/runs/", {**_period(), "region": "Atlantis"}, format="json")
    assert response.status_code == 400 and "region" in response.json()["error"]["fields"]
    assert client.get("/api/dispatch/runs/999999/").status_code == 404
    assert client.post("/api/dispatch/runs/999999/commit/").status_code == 404
    assert AssignmentRun.objects.count() == 0


def test_a_run_that_is_not_ready_cannot_be_committed(world):
    run = AssignmentRunFactory(params=_period())
    response = _coordinator_client().post(f"/api/dispatch/runs/{run.pk}/commit/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "run_not_ready"


def test_executing_a_run_twice_solves_it_once(world):
    from dispatch.services import assignment

    run = assignment.run_start(user=None, date_from=f.day_at(0), date_to=f.day_at(23), enqueue=False)
    assignment.run_execute(run_id=run.pk)
    ids = list(ProposedAssignment.objects.filter(run=run).values_list("id", flat=True))
    assert assignment.run_execute(run_id=run.pk).state == AssignmentRun.State.READY
    assert list(ProposedAssignment.objects.filter(run=run).values_list("id", flat=True)) == ids
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    assignment.run_commit_execute(run_id=run.pk)
    assignment.run_commit_execute(run_id=run.pk)
    assert Booking.objects.count() == 4


def test_region_and_seat_filters_limit_the_slots(world):
    from dispatch.services import assignment

    run = assignment.run_start(user=None, date_from=f.day_at(0), date_to=f.day_at(23), seat_codes=["e14000102"],
                               enqueue=False)
    run = assignment.run_execute(run_id=run.pk)
    assert run.totals["slots"] == 1 and run.totals["assigned"] == 3


def test_assign_command_solves_and_commits_with_a_progress_bar(world):
    out, err = StringIO(), StringIO()
    day = f.day_at(0).date().isoformat()
    call_command("assign", "--from", day, "--to", day, "--commit", stdout=out, stderr=err)
    assert "4 assigned" in out.getvalue() and "Committed: 4 booked" in out.getvalue()
    assert "Solving" in err.getvalue() and "100%" in err.getvalue()
    assert Booking.objects.filter(source=Booking.Source.ASSIGNED).count() == 4


def test_the_schema_documents_the_dispatch_routes():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/volunteers/", "/api/volunteers/{token}/suggestions/", "/api/dispatch/runs/",
                 "/api/dispatch/runs/{run_id}/", "/api/dispatch/runs/{run_id}/commit/", "/api/dispatch/overflow/",
                 "/api/dispatch/coverage/", "/api/bookings/{token}/decline-redirect/"]:
        assert path in paths, path

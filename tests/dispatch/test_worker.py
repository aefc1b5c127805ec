"""The run, its commit and the overflow task on a real Celery worker over Redis."""


import pytest
from rest_framework.test import APIClient

from dispatch.models import AssignmentRun, OverflowMove
from tests.dispatch import factories as f
from tests.waiting import wait_until
from volunteers.models import Booking

pytestmark = pytest.mark.worker

DEADLINE_S = 60  # only so a broken worker cannot hang the suite; nothing asserts on time


def _wait_for(predicate, what: str):
    wait_until(predicate, timeout=DEADLINE_S, interval=0.1, message=what)


def test_run_and_commit_go_through_the_worker(celery_worker):
    seat = f.seat("E14000401", lat=53.37, lng=-1.55, priority=1)
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 3)]).slots.get()
    for _ in range(5):
        f.volunteer(lat=seat.lat, lng=seat.lng, windows=[(f.day_at(9), f.day_at(13))])
    client = APIClient()
    client.force_authenticate(f.user("coord"))
    run_id = client.post("/api/dispatch/runs/", {"date_from": f.day_at(0).isoformat(),
                                                 "date_to": f.day_at(23).isoformat()}, format="json").json()["id"]
    _wait_for(lambda: AssignmentRun.objects.get(pk=run_id).state == AssignmentRun.State.READY, "the run to solve")
    body = client.get(f"/api/dispatch/runs/{run_id}/").json()
    assert body["totals"]["assigned"] == 3 and body["totals"]["unassigned"] == 2 and body["progress"] == 100
    assert not Booking.objects.exists()
    client.post(f"/api/dispatch/runs/{run_id}/commit/")
    client.post(f"/api/dispatch/runs/{run_id}/commit/")
    _wait_for(lambda: AssignmentRun.objects.get(pk=run_id).state == AssignmentRun.State.COMMITTED, "the commit")
    slot.refresh_from_db()
    assert slot.confirmed_count == 3 == Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count()


def test_a_waitlist_is_overflowed_by_the_worker_after_commit(celery_worker):
    full = f.seat("E14000402", lat=53.37, lng=-1.55, priority=2)
    near = f.seat("E14000403", lat=53.37, lng=-1.51, priority=1)
    f.adjacent(full, near)
    source = f.session(full, slots=[(f.day_at(10), f.day_at(12), 1)]).slots.get()
    target = f.session(near, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    f.fill(source, near=full)
    waiting = f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None), source)
    assert waiting.status == Booking.Status.WAITLISTED  # the booking itself only waitlists; the worker moves it
    _wait_for(lambda: Booking.objects.get(pk=waiting.pk).status == Booking.Status.REDIRECTED, "the overflow")
    move = OverflowMove.objects.get(from_booking=waiting)
    assert move.trigger == OverflowMove.Trigger.WAITLIST and move.to_booking.slot_id == target.pk

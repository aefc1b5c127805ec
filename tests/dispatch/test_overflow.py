import pytest
from rest_framework.test import APIClient

from dispatch.models import CoordinatorAction, OverflowMove
from dispatch.services.overflow import overflow_sweep
from dispatch.tasks import overflow_slot
from tests.dispatch import factories as f
from tools.gb_seats import gb_seats_load
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db


@pytest.fixture
def manual(settings):
    """Overflow only when asked: waitlists stay put until a coordinator, the task or the sweep acts."""
    settings.OVERFLOW_AUTO = False


@pytest.fixture
def area():
    """A full seat F and, around it, N1 (priority 3, 3 km), N2 (priority 1, 5 km), ring-2 R (priority 1)."""
    full = f.seat("E14000201", lat=53.37, lng=-1.55, priority=2, name="Fullton")
    n1 = f.seat("E14000202", lat=53.37, lng=-1.505, priority=3, name="Near One")
    n2 = f.seat("E14000203", lat=53.415, lng=-1.55, priority=1, name="Near Two")
    ring2 = f.seat("E14000204", lat=53.37, lng=-1.45, priority=1, name="Further")
    far = f.seat("E14000205", lat=53.6, lng=-1.55, priority=1, name="Far Away")
    f.adjacent(full, n1)
    f.adjacent(full, n2)
    f.adjacent(n1, ring2)
    f.adjacent(full, far)
    slot_f = f.session(full, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    slot_n1 = f.session(n1, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    slot_n2 = f.session(n2, slots=[(f.day_at(11), f.day_at(13), 1)]).slots.get()
    slot_r = f.session(ring2, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    slot_late = f.session(n1, slots=[(f.day_at(14), f.day_at(16), 5)]).slots.get()  # no overlap
    slot_far = f.session(far, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()  # 25 km: beyond 15 km
    f.fill(slot_f, near=full)
    return {"full": full, "n1": n1, "n2": n2, "ring2": ring2, "slot_f": slot_f, "slot_n1": slot_n1,
            "slot_n2": slot_n2, "slot_r": slot_r, "slot_late": slot_late, "slot_far": slot_far}


def _waitlist(area, n):
    return [f.book(f.volunteer(lat=area["full"].lat, lng=area["full"].lng, max_travel_km=None), area["slot_f"])
            for _ in range(n)]


def test_a_waitlist_overflows_to_neighbours_by_priority_then_ring_then_travel(area, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        waiting = _waitlist(area, 3)
    for booking in waiting:
        booking.refresh_from_db()
        assert booking.status == Booking.Status.REDIRECTED
    targets = [b.redirected_to.slot_id for b in waiting]
    # N2 (priority 1, ring 1) takes one; then R (priority 1, ring 2, in reach) before N1 (priority 3, ring 1):
    # nobody goes to a lower-priority seat while a higher-priority one within their reach has room.
    assert targets == [area["slot_n2"].pk, area["slot_r"].pk, area["slot_r"].pk]
    new = waiting[0].redirected_to
    assert new.status == Booking.Status.CONFIRMED and new.source == Booking.Source.REDIRECT
    event = BookingEvent.objects.get(booking=waiting[0], kind=BookingEvent.Kind.REDIRECTED)
    assert event.version == waiting[0].version
    assert event.payload["to_booking"] == new.pk
    assert event.payload["from_seat"] == "E14000201" and event.payload["to_seat"] == "E14000203"
    assert "Fullton is full" in event.payload["reason"]
    assert OverflowMove.objects.filter(trigger=OverflowMove.Trigger.WAITLIST).count() == 3


def test_a_higher_priority_seat_in_ring_two_comes_before_a_lower_one_and_travel_limits_hold(area, manual):
    from sessions.models import Slot

    Slot.objects.filter(pk__in=[area["slot_n1"].pk]).update(capacity=1)
    waiting = _waitlist(area, 4)
    far_away = f.book(f.volunteer(lat=54.2, lng=-1.55, max_travel_km=None), area["slot_f"])
    overflow_slot.delay(area["slot_f"].pk)
    slots = [Booking.objects.get(pk=b.pk).redirected_to.slot_id for b in waiting[:3]]
    assert slots == [area["slot_n2"].pk, area["slot_r"].pk, area["slot_r"].pk]
    # ring 2 (priority 1) is about 6.7 km away: the 4th also goes there, not to N1 (priority 3) next door; the
    # one living 90 km away stays waitlisted
    assert Booking.objects.get(pk=waiting[3].pk).redirected_to.slot_id == area["slot_r"].pk
    assert Booking.objects.get(pk=far_away.pk).status == Booking.Status.WAITLISTED
    assert not Booking.objects.filter(slot__in=[area["slot_late"], area["slot_far"]]).exists()


def test_running_the_overflow_task_twice_moves_nobody_twice(area, manual):
    waiting = _waitlist(area, 2)
    assert overflow_slot.delay(area["slot_f"].pk).get() == 2
    assert overflow_slot.delay(area["slot_f"].pk).get() == 0
    assert overflow_sweep() == 0
    assert OverflowMove.objects.count() == 2
    assert Booking.objects.filter(volunteer__in=[b.volunteer for b in waiting], status="confirmed").count() == 2


def test_declining_a_redirect_returns_to_the_original_waitlist_place(area, manual, django_capture_on_commit_callbacks):
    first, second = _waitlist(area, 2)
    overflow_slot.delay(area["slot_f"].pk)
    first.refresh_from_db()
    new = first.redirected_to
    original_waitlisted_at = first.waitlisted_at
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/bookings/{new.manage_token}/decline-redirect/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "waitlisted" and response.json()["waitlist_position"] == 1
    first.refresh_from_db()
    new.refresh_from_db()
    assert first.status == Booking.Status.WAITLISTED and first.waitlisted_at == original_waitlisted_at
    assert first.redirected_to is None
    assert new.status == Booking.Status.CANCELLED
    new.slot.refresh_from_db()
    assert new.slot.confirmed_count == 0
    assert OverflowMove.objects.get(from_booking=first).declined_at is not None
    # declining again is a no-op, and nobody sends them away again
    assert client.post(f"/api/bookings/{first.manage_token}/decline-redirect/").status_code == 200
    assert overflow_sweep() == 0
    first.refresh_from_db()
    assert first.status == Booking.Status.WAITLISTED
    assert client.post(f"/api/bookings/{area['slot_f'].bookings.first().manage_token}/decline-redirect/").status_code == 409
    assert client.post("/api/bookings/nope/decline-redirect/").status_code == 404


def test_coordinator_dry_run_plans_without_changes_and_is_audited(area, manual):
    waiting = _waitlist(area, 3)
    client = APIClient()
    coordinator = f.user("coord")
    client.force_authenticate(coordinator)
    response = client.post("/api/dispatch/overflow/", {"seat": "E14000201", "dry_run": True}, format="json")
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert plan["dry_run"] is True and plan["moved"] == 3
    assert [m["to_slot"] for m in plan["moves"]] == [area["slot_n2"].pk, area["slot_r"].pk, area["slot_r"].pk]
    assert all(Booking.objects.get(pk=b.pk).status == Booking.Status.WAITLISTED for b in waiting)
    action = CoordinatorAction.objects.get(pk=plan["action"])
    assert action.actor == coordinator and action.kind == CoordinatorAction.Kind.OVERFLOW_PLANNED

    response = client.post("/api/dispatch/overflow/", {"session": area["slot_f"].session_id,
                                                       "target_seats": ["E14000204"]}, format="json")
    result = response.json()
    assert result["dry_run"] is False and result["moved"] == 3
    assert {m["to_seat"] for m in result["moves"]} == {"E14000204"}
    action = CoordinatorAction.objects.get(pk=result["action"])
    assert action.kind == CoordinatorAction.Kind.OVERFLOW_EXECUTED and action.result["moved"] == 3
    assert action.moves.count() == 3


@pytest.mark.parametrize(("body", "field"), [
    ({}, "seat"),
    ({"seat": "E14000201", "session": 1}, "seat"),
    ({"seat": "E99999999"}, "seat"),
    ({"session": 999999}, "session"),
    ({"seat": "E14000201", "target_seats": ["X"]}, "target_seats"),
    ({"seat": "E14000201", "dry_run": "maybe"}, "dry_run"),
])
def test_overflow_api_rejects_bad_input_naming_the_field(area, manual, body, field):
    client = APIClient()
    client.force_authenticate(f.user("coord"))
    response = client.post("/api/dispatch/overflow/", body, format="json")
    assert response.status_code in (400, 404), response.json()
    # A list item is named by its index (target_seats.0).
    assert any(name == field or name.startswith(f"{field}.") for name in response.json()["error"]["fields"])
    assert not OverflowMove.objects.exists()


def test_only_coordinators_may_overflow_or_see_coverage(area):
    client = APIClient()
    client.force_authenticate(f.user("host", staff=False))
    assert client.post("/api/dispatch/overflow/", {"seat": "E14000201"}, format="json").status_code == 403
    assert client.get("/api/dispatch/coverage/").status_code == 403


def test_a_cancellation_promotes_the_first_waitlisted_volunteer(area, manual, django_capture_on_commit_callbacks):
    first, second = _waitlist(area, 2)
    confirmed = Booking.objects.filter(slot=area["slot_f"], status=Booking.Status.CONFIRMED).first()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(manage_token=confirmed.manage_token)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Booking.Status.CONFIRMED and second.status == Booking.Status.WAITLISTED
    assert BookingEvent.objects.filter(booking=first, kind=BookingEvent.Kind.PROMOTED).exists()


def test_coverage_reports_places_fill_and_overflow_per_seat(area, manual):
    _waitlist(area, 3)
    overflow_slot.delay(area["slot_f"].pk)
    f.book(f.volunteer(lat=53.37, lng=-1.55), area["slot_f"])  # one more joins the waitlist
    client = APIClient()
    client.force_authenticate(f.user("coord"))
    response = client.get("/api/dispatch/coverage/", {"date_from": f.day_at(0).isoformat(),
                                                      "date_to": f.day_at(23).isoformat()})
    assert response.status_code == 200
    rows = {r["seat"]: r for r in response.json()}
    assert rows["E14000201"] | {} == rows["E14000201"]
    assert (rows["E14000201"]["places"], rows["E14000201"]["confirmed"], rows["E14000201"]["waitlisted"]) == (2, 2, 1)
    assert rows["E14000201"]["fill_pct"] == 100.0 and rows["E14000201"]["overflow_sent"] == 3
    assert rows["E14000203"]["overflow_received"] == 1 and rows["E14000204"]["overflow_received"] == 2
    assert rows["E14000202"]["slots"] == 2 and rows["E14000202"]["places"] == 10
    weights = [r["shortfall"] * (6 - r["priority"]) for r in response.json()]
    assert weights == sorted(weights, reverse=True)  # largest shortfall x priority first
    bad = client.get("/api/dispatch/coverage/", {"date_from": "yesterday"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"date_from"}
    backwards = client.get("/api/dispatch/coverage/", {"date_from": f.day_at(23).isoformat(),
                                                       "date_to": f.day_at(0).isoformat()})
    assert backwards.status_code == 400 and set(backwards.json()["error"]["fields"]) == {"date_to"}


def test_coverage_without_dates_covers_the_next_seven_days(area, manual):
    from datetime import timedelta

    from django.utils import timezone

    from dispatch.services.coverage import coverage_period

    client = APIClient()
    client.force_authenticate(f.user("coord"))
    response = client.get("/api/dispatch/coverage/")
    assert response.status_code == 200
    expected = client.get("/api/dispatch/coverage/", {"date_from": timezone.now().isoformat(),
                                                      "date_to": (timezone.now() + timedelta(days=7)).isoformat()})
    assert response.json() == expected.json() and response.json() != []
    start, end = coverage_period(date_to=timezone.now())
    assert end - start == timedelta(days=7)


def test_sheffield_hallam_flooded_overflows_to_its_real_neighbours(shared_data, manual):
    """Real seats and adjacency: Hallam's neighbours fill first (by priority), then a ring-2 seat; never Sherwood."""
    gb_seats_load(shared_data)
    from seats.models import Seat, SeatAdjacency

    hallam = Seat.objects.get(pk="E14000922")
    neighbours = set(SeatAdjacency.objects.filter(from_seat=hallam).values_list("to_seat_id", flat=True))
    assert {"E14000919", "E14000923", "E14000921"} <= neighbours and "E14000920" not in neighbours
    flooded = f.session(hallam, slots=[(f.day_at(10), f.day_at(12), 10)]).slots.get()
    targets = {code: f.session(Seat.objects.get(pk=code), slots=[(f.day_at(10), f.day_at(12), 10)]).slots.get()
               for code in ["E14000919", "E14000923", "E14000921", "E14000920", "E14000924"]}
    f.fill(flooded, near=hallam)
    waiting = _waitlist({"full": hallam, "slot_f": flooded}, 45)
    assert overflow_slot.delay(flooded.pk).get() == 40

    moves = {m.from_booking_id: m for m in OverflowMove.objects.select_related("to_seat")}
    in_order = [moves[b.pk] for b in waiting if b.pk in moves]
    assert [m.ring for m in in_order] == [1] * 30 + [2] * 10  # Sheffield South East takes the rest
    assert {m.to_seat_id for m in in_order[:30]} == {"E14000919", "E14000923", "E14000921"}
    keys = [(m.ring, m.to_seat.priority, m.distance_km) for m in in_order]
    assert keys == sorted(keys)  # first come, first served gets the best: ring, then priority, then travel
    assert all(m.distance_km <= 15 for m in in_order)
    assert not Booking.objects.filter(slot=targets["E14000924"]).exists()  # Sherwood is not a neighbour
    for slot in [flooded, *targets.values()]:
        slot.refresh_from_db()
        assert slot.confirmed_count == slot.capacity == Booking.objects.filter(slot=slot, status="confirmed").count() \
            or slot == targets["E14000924"]
    assert Booking.objects.filter(slot=flooded, status=Booking.Status.WAITLISTED).count() == 5

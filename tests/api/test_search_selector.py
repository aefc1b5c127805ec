"""sessions_near against a brute-force haversine ordering of every session, on PostgreSQL."""

import itertools
import math
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from core.geo import EARTH_RADIUS_KM, haversine_km
from sessions.models import CanvassSession, Slot
from sessions.selectors import sessions_near
from tests.factories import CanvassSessionFactory, MeetingPointFactory, SeatFactory, SlotFactory, UserFactory

pytestmark = pytest.mark.django_db

SHEFFIELD = (53.38, -1.50)  # dense: the 2 km ring fills most pages
HIGHLANDS = (57.30, -4.45)  # sparse: nothing within 8 km, so only the 25 km ring finds anything
RADIUS_KM = 25.0


def _destination(origin: tuple[float, float], km: float, bearing_deg: float) -> tuple[float, float]:
    """The point km away from origin along bearing_deg, on the same sphere as the search."""
    lat1, lng1, bearing, d = (math.radians(origin[0]), math.radians(origin[1]), math.radians(bearing_deg),
                              km / EARTH_RADIUS_KM)
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(bearing))
    lng2 = lng1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(lat1),
                             math.cos(d) - math.sin(lat1) * math.sin(lat2))
    return math.degrees(lat2), math.degrees(lng2)


def _session_at(point, seat, starts_at, *, status=CanvassSession.Status.PUBLISHED, slots=1, rng=None):
    room = MeetingPointFactory(host=UserFactory(username="search-host"), seat=seat, lat=point[0], lng=point[1])
    session = CanvassSessionFactory(meeting_point=room, starts_at=starts_at,
                                    ends_at=starts_at + timedelta(hours=2 * max(slots, 1)), status=status)
    for k in range(slots):
        capacity = rng.choice((4, 8)) if rng else 6
        SlotFactory(session=session, starts_at=starts_at + timedelta(hours=2 * k),
                    ends_at=starts_at + timedelta(hours=2 * k + 2), capacity=capacity,
                    confirmed_count=rng.randint(0, capacity) if rng else 0)
    return session


@pytest.fixture
def sessions_world():
    """Random sessions around a dense and a sparse origin, in two seats, some cancelled, past or slot-less."""
    rng = random.Random(20170608)
    now = timezone.now()
    seats = [SeatFactory(priority=1), SeatFactory(priority=3)]
    for origin, count, max_km in ((SHEFFIELD, 70, 12.0), (HIGHLANDS, 25, RADIUS_KM)):
        for _ in range(count):
            # Skewed towards the centre in Sheffield, so pages fill at 2 km, 8 km or 25 km by size and filter.
            km = max_km * rng.random() ** 2 if origin is SHEFFIELD else rng.uniform(8.5, RADIUS_KM - 0.5)
            point = _destination(origin, km, rng.uniform(0, 360))
            # Some meeting points host several sessions: equal distances, ordered by starts_at then id.
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                starts_at = now + timedelta(days=rng.randint(0, 20), hours=rng.randint(-30, 10))
                status = rng.choice([CanvassSession.Status.PUBLISHED] * 9 + [CanvassSession.Status.CANCELLED])
                _session_at(point, rng.choice(seats), starts_at, status=status, slots=rng.choice((0, 1, 2, 3)),
                            rng=rng)
    seat = seats[0]
    inside = _session_at(_destination(HIGHLANDS, RADIUS_KM - 0.05, 90), seat, now + timedelta(days=2))
    outside = _session_at(_destination(HIGHLANDS, RADIUS_KM + 0.05, 270), seat, now + timedelta(days=2))
    return {"now": now, "seats": seats, "inside": inside, "outside": outside}


def _brute_force(origin, *, now, radius_km, date_from=None, date_to=None, seat_code=None):
    rows = []
    for session in CanvassSession.objects.filter(status=CanvassSession.Status.PUBLISHED, ends_at__gt=now):
        if (date_from or date_to) and not _expected_slots(session.id, now=now, date_from=date_from,
                                                          date_to=date_to):
            continue  # a date filter needs a slot inside the dates, not just the session's span
        if seat_code and session.seat_id != seat_code:
            continue
        distance = haversine_km(origin[0], origin[1], session.lat, session.lng)
        if distance <= radius_km:
            rows.append((distance, session.starts_at, session.id))
    return sorted(rows)


def _expected_slots(session_id, *, now=None, date_from=None, date_to=None):
    slots = Slot.objects.filter(session_id=session_id, starts_at__gt=now or timezone.now())
    if date_from:
        slots = slots.filter(ends_at__gt=date_from)
    if date_to:
        slots = slots.filter(starts_at__lt=date_to)
    return [{"id": slot.id, "starts_at": slot.starts_at, "ends_at": slot.ends_at, "capacity": slot.capacity,
             "places_left": slot.capacity - slot.confirmed_count} for slot in slots.order_by("starts_at", "id")]


PAGES = [(5, 0), (20, 0), (6, 4), (10, 25)]
FILTERS = ["none", "date_from", "date_to", "seat", "all"]


@pytest.mark.slow
@pytest.mark.parametrize("origin", [SHEFFIELD, HIGHLANDS], ids=["dense", "sparse"])
def test_search_matches_a_brute_force_haversine_ordering(sessions_world, origin):
    now = sessions_world["now"]
    seat = sessions_world["seats"][1]
    for (limit, offset), filters in itertools.product(PAGES, FILTERS):
        kwargs = {}
        if filters in ("date_from", "all"):
            kwargs["date_from"] = now + timedelta(days=4)
        if filters in ("date_to", "all"):
            kwargs["date_to"] = now + timedelta(days=12)
        if filters in ("seat", "all"):
            kwargs["seat_code"] = seat.ons_code
        case = f"limit={limit} offset={offset} filters={filters}"
        page = _brute_force(origin, now=now, radius_km=RADIUS_KM, **kwargs)[offset:offset + limit]

        found = sessions_near(lat=origin[0], lng=origin[1], radius_km=RADIUS_KM, limit=limit, offset=offset,
                              now=now, **kwargs)

        assert [row["id"] for row in found] == [session_id for _, _, session_id in page], case
        assert [row["distance_km"] for row in found] == pytest.approx([d for d, _, _ in page], abs=1e-6), case
        for row in found:
            session = CanvassSession.objects.select_related("seat").get(pk=row["id"])
            assert (row["title"], row["starts_at"], row["ends_at"], row["lat"], row["lng"]) == (
                session.title, session.starts_at, session.ends_at, session.lat, session.lng), case
            assert row["seat"] == {"ons_code": session.seat_id, "name": session.seat.name,
                                   "priority": session.seat.priority}, case
            assert row["slots"] == _expected_slots(row["id"], now=now, date_from=kwargs.get("date_from"),
                                                   date_to=kwargs.get("date_to")), case


@pytest.mark.slow
def test_sparse_pages_come_from_the_widest_ring(sessions_world):
    expected = _brute_force(HIGHLANDS, now=sessions_world["now"], radius_km=RADIUS_KM)
    assert expected and expected[0][0] > 8.0  # the 2 km and 8 km rings are empty here
    found = sessions_near(lat=HIGHLANDS[0], lng=HIGHLANDS[1], radius_km=RADIUS_KM, limit=5,
                          now=sessions_world["now"])
    assert [row["id"] for row in found] == [session_id for _, _, session_id in expected[:5]]


@pytest.mark.slow
def test_a_session_just_outside_the_radius_is_excluded(sessions_world):
    found = sessions_near(lat=HIGHLANDS[0], lng=HIGHLANDS[1], radius_km=RADIUS_KM, limit=500,
                          now=sessions_world["now"])
    ids = [row["id"] for row in found]
    assert sessions_world["inside"].id in ids
    assert sessions_world["outside"].id not in ids
    assert max(row["distance_km"] for row in found) <= RADIUS_KM


@pytest.mark.slow
def test_a_smaller_radius_cuts_off_at_that_radius(sessions_world):
    now = sessions_world["now"]
    found = sessions_near(lat=SHEFFIELD[0], lng=SHEFFIELD[1], radius_km=5.0, limit=500, now=now)
    expected = _brute_force(SHEFFIELD, now=now, radius_km=5.0)
    assert len(expected) < len(_brute_force(SHEFFIELD, now=now, radius_km=RADIUS_KM))
    assert [row["id"] for row in found] == [session_id for _, _, session_id in expected]


@pytest.mark.slow
def test_a_sparse_search_is_one_statement(sessions_world, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = sessions_near(lat=HIGHLANDS[0], lng=HIGHLANDS[1], radius_km=RADIUS_KM, limit=20,
                              now=sessions_world["now"])
    assert found and all(row["distance_km"] > 8.0 for row in found)

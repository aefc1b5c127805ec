"""Public figures about a front room come from its public point, never the front door (issue 11)."""

import importlib
import math
import random
from datetime import timedelta

import numpy as np
import pytest
from django.apps import apps
from django.utils import timezone

from core.geo import EARTH_RADIUS_KM, haversine_km
from sessions.locations import PUBLIC_OFFSET_MAX_KM, PUBLIC_OFFSET_MIN_KM, offset_point
from sessions.models import CanvassSession, MeetingPoint
from sessions.services import meeting_point_create, meeting_point_update, session_create
from tests.factories import (
    CanvassSessionFactory,
    MeetingPointFactory,
    PostcodeFactory,
    SeatFactory,
    UserFactory,
    district,
)

pytestmark = pytest.mark.django_db

DOOR = (53.3811, -1.4882)
DOOR_POSTCODE = "S10 2TN"
_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


def _front_room(seat, postcode=DOOR_POSTCODE, at=DOOR):
    PostcodeFactory(postcode=postcode, lat=at[0], lng=at[1], seat=seat)
    host = UserFactory()
    point = meeting_point_create(host=host, name="Aisha's front room", address="27 Psalter Lane",
                                 postcode=postcode, capacity=12, host_first_name="Aisha")
    start = timezone.now() + timedelta(days=2)
    session = session_create(user=host, meeting_point=point, title="Saturday doors",
                             slots=[{"starts_at": start, "ends_at": start + timedelta(hours=2), "capacity": 6}])
    return point, session


def _known_postcodes(seat, count: int, rng: random.Random) -> list[tuple[str, float, float]]:
    """Postcodes an attacker can search from: scattered 0.4-4 km around the door, as a city's are."""
    found = []
    for i in range(count):
        lat, lng = offset_point(lat=DOOR[0], lng=DOOR[1], distance_km=rng.uniform(0.4, 4.0),
                                bearing_deg=rng.uniform(0, 360))
        code = f"S11 {i % 10}{_LETTERS[i // 10 % 20]}{_LETTERS[i // 200]}"
        PostcodeFactory(postcode=code, lat=lat, lng=lng, seat=seat)
        found.append((code, lat, lng))
    return found


def _least_squares_fix(origins: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """The point (x, y km) whose distances to `origins` best fit the reported ones: a coarse grid for the start,
    then Gauss-Newton, which is what a careful attacker would run."""
    def cost(point):
        return np.sum((np.hypot(*(origins - point).T) - distances) ** 2)

    axis = np.linspace(-5, 5, 101)
    best = min(((x, y) for x in axis for y in axis), key=lambda p: cost(np.array(p)))
    point = np.array(best, dtype=float)
    for _ in range(50):
        delta = point - origins
        ranges = np.maximum(np.hypot(*delta.T), 1e-9)
        jacobian = delta / ranges[:, None]
        step, *_ = np.linalg.lstsq(jacobian, -(ranges - distances), rcond=None)
        point = point + step
        if np.hypot(*step) < 1e-7:
            break
    return point


def test_least_squares_on_many_searches_does_not_find_the_door(api):
    seat = SeatFactory()
    rng = random.Random(11)
    _point, session = _front_room(seat)
    cos_lat = math.cos(math.radians(DOOR[0]))
    origins, distances = [], []
    for code, lat, lng in _known_postcodes(seat, 80, rng):
        body = api.get("/api/sessions/", {"near": code, "radius_km": 10}).json()
        (found,) = [row for row in body["results"] if row["id"] == session.pk]
        origins.append(((lng - DOOR[1]) * cos_lat * KM_PER_DEGREE, (lat - DOOR[0]) * KM_PER_DEGREE))
        distances.append(found["distance_km"])
    fix = _least_squares_fix(np.array(origins), np.array(distances))
    fix_lat, fix_lng = DOOR[0] + fix[1] / KM_PER_DEGREE, DOOR[1] + fix[0] / (cos_lat * KM_PER_DEGREE)
    miss_km = haversine_km(fix_lat, fix_lng, *DOOR)
    assert miss_km >= 0.25, f"the fix is {miss_km * 1000:.0f} m from the door"


def test_a_new_meeting_point_gets_a_public_point_300_to_600_m_from_its_postcode():
    seat = SeatFactory()
    point, session = _front_room(seat)
    offset = haversine_km(point.lat, point.lng, point.public_lat, point.public_lng)
    assert PUBLIC_OFFSET_MIN_KM - 1e-6 <= offset <= PUBLIC_OFFSET_MAX_KM + 1e-6
    assert (point.lat, point.lng) == DOOR
    assert (session.lat, session.lng) == (point.public_lat, point.public_lng)


def test_front_rooms_at_one_postcode_each_get_a_public_point_of_their_own():
    seat = SeatFactory()
    first, _ = _front_room(seat)
    second, _ = _front_room(seat)
    assert (second.public_lat, second.public_lng) != (first.public_lat, first.public_lng)
    for point in (first, second):
        assert PUBLIC_OFFSET_MIN_KM - 1e-6 <= haversine_km(*DOOR, point.public_lat, point.public_lng) \
            <= PUBLIC_OFFSET_MAX_KM + 1e-6


def test_moving_a_room_to_a_postcode_with_a_front_room_draws_a_point_of_its_own():
    seat = SeatFactory()
    victim, _ = _front_room(seat)
    probe, _ = _front_room(seat, postcode="S11 8UX", at=(53.3700, -1.5100))
    meeting_point_update(user=probe.host, meeting_point=probe, postcode=DOOR_POSTCODE)
    probe.refresh_from_db()
    assert (probe.public_lat, probe.public_lng) != (victim.public_lat, victim.public_lng)


def test_a_host_reads_back_no_public_point_of_their_room(api):
    seat = SeatFactory()
    point, _ = _front_room(seat)
    from tests.factories import api_client_for

    body = api_client_for(point.host).get(f"/api/meeting-points/{point.pk}/").json()
    assert "public_lat" not in body and "public_lng" not in body
    assert repr(point.public_lat) not in str(body) and repr(point.public_lng) not in str(body)


def test_the_data_migration_gives_rooms_sharing_a_public_point_their_own():
    first = MeetingPointFactory(lat=DOOR[0], lng=DOOR[1], public_lat=53.3850, public_lng=-1.4900)
    probe = MeetingPointFactory(lat=DOOR[0], lng=DOOR[1], public_lat=53.3850, public_lng=-1.4900)
    third = MeetingPointFactory(lat=DOOR[0], lng=DOOR[1], public_lat=53.3850, public_lng=-1.4900)
    alone = MeetingPointFactory(lat=53.40, lng=-1.45, public_lat=53.4040, public_lng=-1.45)
    probe_session = CanvassSessionFactory(meeting_point=probe)
    migration = importlib.import_module("sessions.migrations.0005_hosts_vetting_and_verification")
    migration.redraw_shared_public_points(apps, None)
    points = {room.pk: (room.public_lat, room.public_lng) for room in MeetingPoint.objects.all()}
    assert points[first.pk] == (53.3850, -1.4900)  # the earliest keeps its point: its distances do not jump
    assert points[alone.pk] == (53.4040, -1.45)
    assert len({points[first.pk], points[probe.pk], points[third.pk]}) == 3
    for room in (probe, third):
        assert PUBLIC_OFFSET_MIN_KM - 1e-6 <= haversine_km(*DOOR, *points[room.pk]) <= PUBLIC_OFFSET_MAX_KM + 1e-6
    probe_session.refresh_from_db()
    assert (probe_session.lat, probe_session.lng) == points[probe.pk]


def test_a_new_postcode_draws_a_new_public_point_and_moves_upcoming_sessions():
    seat = SeatFactory()
    point, session = _front_room(seat)
    elsewhere = (53.3700, -1.5100)
    PostcodeFactory(postcode="S11 8UX", lat=elsewhere[0], lng=elsewhere[1], seat=seat)
    meeting_point_update(user=point.host, meeting_point=point, postcode="S11 8UX")
    point.refresh_from_db()
    session.refresh_from_db()
    assert PUBLIC_OFFSET_MIN_KM - 1e-6 <= haversine_km(*elsewhere, point.public_lat, point.public_lng) \
        <= PUBLIC_OFFSET_MAX_KM + 1e-6
    assert (session.lat, session.lng) == (point.public_lat, point.public_lng)
    before = (point.public_lat, point.public_lng)
    meeting_point_update(user=point.host, meeting_point=point, name="Renamed", postcode="S11 8UX")
    point.refresh_from_db()
    assert (point.public_lat, point.public_lng) == before  # stable: only a new postcode draws again


def test_distances_are_to_a_tenth_of_a_km_and_never_zero(api):
    seat = SeatFactory()
    point, session = _front_room(seat)
    # A search is computed from its postcode district's centre: here S10's is the door, S17's the public point.
    district("S10", seat, *DOOR)
    PostcodeFactory(postcode="S17 9ZZ", lat=point.public_lat, lng=point.public_lng, seat=seat)
    at_public_point = api.get("/api/sessions/", {"near": "S17 9ZZ"}).json()["results"]
    assert [row["distance_km"] for row in at_public_point if row["id"] == session.pk] == [0.1]
    from_door = api.get("/api/sessions/", {"near": DOOR_POSTCODE}).json()["results"][0]
    assert from_door["distance_km"] == round(from_door["distance_km"], 1) >= 0.3
    assert from_door["approximate_location"] == {"lat": round(point.public_lat, 2), "lng": round(point.public_lng, 2)}
    detail = api.get(f"/api/sessions/{session.pk}/").json()
    assert detail["approximate_location"] == from_door["approximate_location"]


def test_search_filters_and_orders_by_the_public_point(api):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50, seat=seat)
    # The door of `far_door` is nearer the searcher, but its public point is further away.
    far_door = CanvassSessionFactory(meeting_point=MeetingPointFactory(
        seat=seat, lat=53.3801, lng=-1.50, public_lat=53.3890, public_lng=-1.50))
    near_door = CanvassSessionFactory(meeting_point=MeetingPointFactory(
        seat=seat, lat=53.3850, lng=-1.50, public_lat=53.3860, public_lng=-1.50))
    results = api.get("/api/sessions/", {"near": "S10 1AA"}).json()["results"]
    assert [row["id"] for row in results] == [near_door.pk, far_door.pk]
    assert [row["distance_km"] for row in results] == [0.7, 1.0]
    inside = api.get("/api/sessions/", {"near": "S10 1AA", "radius_km": 0.8}).json()["results"]
    assert [row["id"] for row in inside] == [near_door.pk]


@pytest.mark.slow  # migrates the test database back and forward again
def test_the_data_migration_moves_existing_rooms_and_sessions_off_the_door():
    door_room = MeetingPointFactory(lat=DOOR[0], lng=DOOR[1])  # public point at the door, as before the migration
    past = CanvassSessionFactory(meeting_point=door_room, starts_at=timezone.now() - timedelta(days=3))
    upcoming = CanvassSessionFactory(meeting_point=door_room)
    migration = importlib.import_module("sessions.migrations.0003_meeting_point_public_point")
    migration.forwards(apps, None)
    door_room.refresh_from_db()
    offset = haversine_km(*DOOR, door_room.public_lat, door_room.public_lng)
    assert PUBLIC_OFFSET_MIN_KM - 1e-6 <= offset <= PUBLIC_OFFSET_MAX_KM + 1e-6
    for session in CanvassSession.objects.filter(pk__in=[past.pk, upcoming.pk]):
        assert (session.lat, session.lng) == (door_room.public_lat, door_room.public_lng)
    assert MeetingPoint.objects.get(pk=door_room.pk).lat == DOOR[0]

"""Reads over sessions that are more than a filter: the nearest-sessions search."""

from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from core.geo import EARTH_RADIUS_KM, bounding_box
from sessions.models import CanvassSession

# The search starts with a small box and widens it until a page is full: in a city a 2 km box
# already holds a page of sessions and the index range stays tiny; in the Highlands it grows.
FIRST_RING_KM = 2.0
RING_GROWTH = 4.0

# Exact great-circle distance, written with functions both PostgreSQL and Django's SQLite
# connection provide. The CASE clamps rounding error above 1 before asin.
_HAVERSINE_SQL = (
    f"2 * {EARTH_RADIUS_KM} * asin(sqrt(CASE WHEN h > 1 THEN 1 ELSE h END))"
)
_HAV_TERM = (
    "power(sin(radians(s.lat - %(lat)s) / 2), 2)"
    " + cos(radians(s.lat)) * cos(radians(%(lat)s)) * power(sin(radians(s.lng - %(lng)s) / 2), 2)"
)
_SEARCH_SQL = """
SELECT id, title, description, what_to_bring, postcode_district, lat, lng, starts_at, ends_at,
       seat_id, seat_name, seat_priority, {distance} AS distance_km
FROM (
    SELECT s.id, s.title, s.description, s.what_to_bring, s.postcode_district, s.lat, s.lng,
           s.starts_at, s.ends_at, s.seat_id, seat.name AS seat_name, seat.priority AS seat_priority,
           {hav} AS h
    FROM canvass_canvasssession s
    JOIN seats_seat seat ON seat.ons_code = s.seat_id
    WHERE s.status = 'published' AND s.ends_at > %(now)s
      AND s.lat BETWEEN %(min_lat)s AND %(max_lat)s AND s.lng BETWEEN %(min_lng)s AND %(max_lng)s
      {filters}
) candidates
WHERE {distance} <= %(ring)s
ORDER BY distance_km, starts_at, id
LIMIT %(wanted)s
"""
# PostgreSQL: the same page with its slots in one statement (one round trip instead of two). The
# slots are aggregated over the page only, after the LIMIT, then the page is ordered again.
_PG_SEARCH_SQL = """
SELECT page.*, (
    SELECT json_agg(json_build_array(sl.id, sl.starts_at, sl.ends_at, sl.capacity, sl.confirmed_count)
                    ORDER BY sl.starts_at, sl.id)
    FROM canvass_slot sl WHERE sl.session_id = page.id
) AS slots
FROM ({search}) page
ORDER BY page.distance_km, page.starts_at, page.id
"""
_SLOTS_SQL = """
SELECT id, session_id, starts_at, ends_at, capacity, confirmed_count
FROM canvass_slot WHERE session_id IN ({ids}) ORDER BY starts_at, id
"""
_SESSION_COLUMNS = ("id", "title", "description", "what_to_bring", "postcode_district", "lat", "lng",
                    "starts_at", "ends_at", "seat_id", "seat_name", "seat_priority", "distance_km")


def _search_sql(*, date_from: bool, date_to: bool, seat: bool) -> str:
    filters = []
    if date_from:
        filters.append("AND s.ends_at > %(date_from)s")
    if date_to:
        filters.append("AND s.starts_at < %(date_to)s")
    if seat:
        filters.append("AND s.seat_id = %(seat)s")
    return _SEARCH_SQL.format(distance=_HAVERSINE_SQL, hav=_HAV_TERM, filters=" ".join(filters))


_SHAPES = [(f, t, s) for f in (False, True) for t in (False, True) for s in (False, True)]
_SQL_BY_SHAPE = {shape: _search_sql(date_from=shape[0], date_to=shape[1], seat=shape[2]) for shape in _SHAPES}
_PG_SQL_BY_SHAPE = {shape: _PG_SEARCH_SQL.format(search=sql) for shape, sql in _SQL_BY_SHAPE.items()}


def _aware(value):
    # SQLite hands back naive UTC datetimes from raw SQL; PostgreSQL aware ones.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def sessions_near(*, lat: float, lng: float, radius_km: float, limit: int, offset: int = 0,
                  date_from: datetime | None = None, date_to: datetime | None = None,
                  seat_code: str | None = None, now: datetime | None = None) -> list[dict]:
    """Upcoming published sessions within radius_km, nearest first, as plain rows with their seat and slots.

    Uses the partial (lat, lng) index through a bounding box and orders by exact haversine
    distance, in raw SQL: building the equivalent ORM expression costs more than running it.
    Each row has the session's public fields, `distance_km`, `seat` {ons_code, name, priority}
    and `slots` [{id, starts_at, ends_at, capacity, places_left}]. Returns at most `limit` rows
    after skipping `offset`.
    """
    params = {"lat": lat, "lng": lng, "now": now or timezone.now(), "wanted": offset + limit,
              "date_from": date_from, "date_to": date_to, "seat": seat_code}
    shape = (date_from is not None, date_to is not None, seat_code is not None)
    with_slots = connection.vendor == "postgresql"
    sql = (_PG_SQL_BY_SHAPE if with_slots else _SQL_BY_SHAPE)[shape]
    ring = min(FIRST_RING_KM, radius_km)
    with connection.cursor() as cursor:
        while True:
            params["min_lat"], params["max_lat"], params["min_lng"], params["max_lng"] = bounding_box(lat, lng, ring)
            params["ring"] = ring
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if len(rows) >= params["wanted"] or ring >= radius_km:
                break
            ring = min(ring * RING_GROWTH, radius_km)
        page = []
        for row in rows[offset:]:
            session = dict(zip(_SESSION_COLUMNS, row, strict=False))
            session["starts_at"], session["ends_at"] = _aware(session["starts_at"]), _aware(session["ends_at"])
            session["seat"] = {"ons_code": session.pop("seat_id"), "name": session.pop("seat_name"),
                               "priority": session.pop("seat_priority")}
            session["slots"] = [_slot(*slot) for slot in row[len(_SESSION_COLUMNS)] or ()] if with_slots else []
            page.append(session)
        if page and not with_slots:
            by_id = {session["id"]: session for session in page}
            cursor.execute(_SLOTS_SQL.format(ids=", ".join(["%s"] * len(by_id))), list(by_id))
            for slot_id, session_id, *rest in cursor.fetchall():
                by_id[session_id]["slots"].append(_slot(slot_id, *rest))
    return page


def _slot(slot_id: int, starts_at, ends_at, capacity: int, confirmed: int) -> dict:
    return {"id": slot_id, "starts_at": _aware(starts_at), "ends_at": _aware(ends_at), "capacity": capacity,
            "places_left": max(0, capacity - confirmed)}


def sessions_for_host(*, user):
    query = CanvassSession.objects.select_related("seat", "meeting_point").prefetch_related("slots")
    if user.is_staff:
        return query
    return query.filter(meeting_point__host=user)


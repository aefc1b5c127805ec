"""Prototype of sessions.selectors.sessions_near in ONE statement, measured by bench/search.py.

Same signature and the same rows as the app's selector (plain dicts: session fields, distance_km,
seat {ons_code, name, priority}, slots [{id, starts_at, ends_at, capacity, places_left}]), same
index use (bounding box on session_search_lat_lng, exact haversine ordering, rings of 2, 8, 25 km).
What changes: the app runs one statement per ring plus one for the slots; here every ring is a
MATERIALIZED CTE gated by a one-time filter on the previous ring's count, so PostgreSQL only runs
the 8 km ring when the 2 km ring came back short, and the same statement aggregates the slots into
arrays. Every search is one round trip, however sparse the area.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.db import connection
from django.utils import timezone

from core.geo import EARTH_RADIUS_KM, bounding_box

FIRST_RING_KM = 2.0
RING_GROWTH = 4.0

_DISTANCE_SQL = (
    f"2 * {EARTH_RADIUS_KM} * asin(least(1.0, sqrt("
    "power(sin(radians(lat - %(lat)s) / 2), 2)"
    " + cos(radians(lat)) * cos(radians(%(lat)s)) * power(sin(radians(lng - %(lng)s) / 2), 2))))"
)
_COLUMNS = ("id", "title", "description", "what_to_bring", "postcode_district", "lat", "lng", "starts_at",
            "ends_at", "seat_id", "seat_name", "seat_priority", "distance_km")


def rings_for(radius_km: float) -> list[float]:
    rings = [min(FIRST_RING_KM, radius_km)]
    while rings[-1] < radius_km:
        rings.append(min(rings[-1] * RING_GROWTH, radius_km))
    return rings


@cache
def _search_sql(n_rings: int, date_from: bool, date_to: bool, seat: bool) -> str:
    extra = ""
    if date_from:
        extra += " AND ends_at > %(date_from)s"
    if date_to:
        extra += " AND starts_at < %(date_to)s"
    if seat:
        extra += " AND seat_id = %(seat)s"
    ctes = []
    for k in range(n_rings):
        # Run ring k only if every smaller ring ran and came back short of a page.
        gate = "".join(f" AND (SELECT count(*) FROM ring{j}) < %(wanted)s" for j in range(k))
        ctes.append(
            f"ring{k} AS MATERIALIZED (SELECT {k} AS ring, id, starts_at, distance_km FROM ("
            f"SELECT id, starts_at, {_DISTANCE_SQL} AS distance_km FROM canvass_canvasssession"
            " WHERE status = 'published' AND ends_at > %(now)s"
            f" AND lat BETWEEN %(min_lat{k})s AND %(max_lat{k})s AND lng BETWEEN %(min_lng{k})s AND %(max_lng{k})s"
            f"{extra}) AS near WHERE distance_km <= %(ring{k})s{gate}"
            " ORDER BY distance_km, starts_at, id LIMIT %(wanted)s)"
        )
    ctes.append("found AS (" + " UNION ALL ".join(f"SELECT * FROM ring{k}" for k in range(n_rings)) + ")")
    return (
        "WITH " + ", ".join(ctes)
        + " SELECT s.id, s.title, s.description, s.what_to_bring, s.postcode_district, s.lat, s.lng, s.starts_at,"
        " s.ends_at, s.seat_id, t.name, t.priority, f.distance_km,"
        " sl.ids, sl.starts, sl.ends, sl.capacities, sl.confirmed"
        " FROM found f JOIN canvass_canvasssession s ON s.id = f.id JOIN seats_seat t ON t.ons_code = s.seat_id"
        " LEFT JOIN LATERAL (SELECT array_agg(id ORDER BY starts_at, id) AS ids,"
        " array_agg(starts_at ORDER BY starts_at, id) AS starts, array_agg(ends_at ORDER BY starts_at, id) AS ends,"
        " array_agg(capacity ORDER BY starts_at, id) AS capacities,"
        " array_agg(confirmed_count ORDER BY starts_at, id) AS confirmed"
        " FROM canvass_slot WHERE session_id = s.id) sl ON true"
        " WHERE f.ring = (SELECT max(ring) FROM found)"
        " ORDER BY f.distance_km, f.starts_at, f.id OFFSET %(offset)s"
    )


def search_statement(*, lat: float, lng: float, radius_km: float, limit: int, offset: int = 0,
                     date_from: datetime | None = None, date_to: datetime | None = None,
                     seat_code: str | None = None, now: datetime | None = None) -> tuple[str, dict]:
    rings = rings_for(radius_km)
    params = {"lat": lat, "lng": lng, "now": now or timezone.now(), "date_from": date_from, "date_to": date_to,
              "seat": seat_code, "wanted": offset + limit, "offset": offset}
    for k, ring in enumerate(rings):
        params[f"ring{k}"] = ring
        params[f"min_lat{k}"], params[f"max_lat{k}"], params[f"min_lng{k}"], params[f"max_lng{k}"] = (
            bounding_box(lat, lng, ring)
        )
    return _search_sql(len(rings), date_from is not None, date_to is not None, seat_code is not None), params


def sessions_near_fast(*, lat: float, lng: float, radius_km: float, limit: int, offset: int = 0,
                       date_from: datetime | None = None, date_to: datetime | None = None,
                       seat_code: str | None = None, now: datetime | None = None) -> list[dict]:
    """Upcoming published sessions within radius_km, nearest first, with seat and slots. One statement."""
    sql, params = search_statement(lat=lat, lng=lng, radius_km=radius_km, limit=limit, offset=offset,
                                   date_from=date_from, date_to=date_to, seat_code=seat_code, now=now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    page = []
    for row in rows:
        session = dict(zip(_COLUMNS, row[:13], strict=True))
        session["seat"] = {"ons_code": session.pop("seat_id"), "name": session.pop("seat_name"),
                           "priority": session.pop("seat_priority")}
        ids, starts, ends, capacities, confirmed = row[13:]
        session["slots"] = [
            {"id": i, "starts_at": s, "ends_at": e, "capacity": c, "places_left": max(0, c - n)}
            for i, s, e, c, n in zip(ids or (), starts or (), ends or (), capacities or (), confirmed or (), strict=True)
        ]
        page.append(session)
    return page

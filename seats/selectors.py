"""Reads over seats."""

import math

from django.db import connection

from core.geo import bounding_box, haversine_km
from seats.models import BoundarySet, Seat

SEAT_SEARCH_RADIUS_KM = 60.0


def seats_near(*, lat: float, lng: float, limit: int, radius_km: float = SEAT_SEARCH_RADIUS_KM,
               among=None) -> list[tuple[Seat, float]]:
    """Seats (of the queryset `among`, default the current set's) by distance from the point to each seat's population centre,
    nearest first."""
    among = Seat.objects.current() if among is None else among
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_km)
    candidates = list(among.filter(lat__range=(min_lat, max_lat), lng__range=(min_lng, max_lng)))
    if len(candidates) < limit:  # sparse areas (Highlands, islands): widen to every seat
        candidates = list(among)
    ranked = sorted(((seat, haversine_km(lat, lng, seat.lat, seat.lng)) for seat in candidates), key=lambda pair: pair[1])
    return ranked[:limit]




_SEAT_SUMMARY_FIELDS = ("ons_code", "name", "lat", "lng", "majority", "majority_pct", "priority", "is_target",
                        "priority_override", "target_list_priority", "election_year")
_LAT, _LNG, _PRIORITY = (_SEAT_SUMMARY_FIELDS.index(name) for name in ("lat", "lng", "priority"))
# Every seat (~650) ordered by an equirectangular distance: exact enough to pick the nearest few, and one
# statement with no ORM compilation (the results page runs it on every search).
_NEAREST_SEATS_SQL = (
    f"SELECT {', '.join(_SEAT_SUMMARY_FIELDS)} FROM {Seat._meta.db_table}, "
    f"(SELECT code FROM {BoundarySet._meta.db_table} WHERE is_current) current_set "
    "WHERE boundary_set_id <= current_set.code AND last_boundary_set_id >= current_set.code "
    "ORDER BY (lat - %s) * (lat - %s) + (lng - %s) * (lng - %s) * %s, ons_code LIMIT %s"
)


def seats_that_matter_near(*, lat: float, lng: float, limit: int = 3, among: int = 8,
                           nearby: dict | None = None) -> list[tuple[Seat, float]]:
    """Of the `among` seats nearest the point, the `limit` that matter most: highest priority first, then nearest.

    The seats come with their summary fields only (name, result, priority, target); distances are haversine.
    `nearby`, if given, is filled with all `among` of them by ONS code (seats_summary's shape), so the results
    page's cards need no second statement for the seats around the point."""
    cos2 = math.cos(math.radians(lat)) ** 2
    # bench/pages.py: one ordered statement of the summary fields, the results page within 25 ms p95 (BENCHMARKS.md
    # "Volunteers' pages"); no side-by-side figure against the ORM yet (issue 23).
    with connection.cursor() as cursor:
        cursor.execute(_NEAREST_SEATS_SQL, [lat, lat, lng, lng, cos2, among])
        rows = cursor.fetchall()
    if nearby is not None:
        nearby.update((row[0], row) for row in rows)
    near = sorted(((row, haversine_km(lat, lng, row[_LAT], row[_LNG])) for row in rows),
                  key=lambda pair: (pair[0][_PRIORITY], pair[1]))[:limit]
    # Instances for the seats shown only: a model instance costs more to build than its row costs to fetch.
    return [(Seat(**dict(zip(_SEAT_SUMMARY_FIELDS, row, strict=True))), distance) for row, distance in near]


def seats_summary(*, codes, nearby: dict | None = None) -> dict[str, Seat]:
    """The seats with these ONS codes, summary fields only (as seats_that_matter_near's), by code: why each
    matters, for the results page's cards. Rows already in `nearby` (seats_that_matter_near's) cost nothing; the
    rest one statement with no ORM compilation. Unknown codes are left out."""
    nearby = nearby or {}
    rows = [nearby[code] for code in codes if code in nearby]
    missing = sorted(set(codes) - set(nearby))
    if missing:
        placeholders = ", ".join(["%s"] * len(missing))
        # bench/sql_vs_orm.py seats_summary: the ORM's values_list() cost 3.4x this statement's CPU (BENCHMARKS.md
        # "Hand-written statements vs the ORM").
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(_SEAT_SUMMARY_FIELDS)} FROM {Seat._meta.db_table} "
                           f"WHERE ons_code IN ({placeholders})", missing)
            rows += cursor.fetchall()
    return {row[0]: Seat(**dict(zip(_SEAT_SUMMARY_FIELDS, row, strict=True))) for row in rows}


def seats_name_priority() -> dict[str, tuple[str, int]]:
    """Every current seat's name and effective priority by ONS code (the coverage maps colour all of them)."""
    return {code: (name, priority)
            for code, name, priority in Seat.objects.current().values_list("ons_code", "name", "priority")}


def seat_regions() -> list[str]:
    """The regions the current set's seats are in, for filters."""
    return list(Seat.objects.current().exclude(region="").order_by("region").values_list("region", flat=True).distinct())

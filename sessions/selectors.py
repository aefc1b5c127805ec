"""Reads over sessions that are more than a filter: the nearest-sessions search."""

import math
from datetime import UTC, datetime, timedelta
from functools import cache

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.db import get_with_related, instance_from_row, pk_in_range
from core.errors import NotFound
from core.geo import EARTH_RADIUS_KM, bounding_box
from seats.scopes import seat_scope_for
from sessions.models import CanvassSession, Slot
from sessions.services import meeting_point_managed_by

# The search starts with a small box and widens it until a page is full: in a city a 2 km box
# already holds a page of sessions and the index range stays tiny; in the Highlands it grows.
FIRST_RING_KM = 2.0
RING_GROWTH = 3.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_HAV_TERM = (
    "power(sin(radians(s.lat - %(lat)s) / 2), 2)"
    " + cos(radians(s.lat)) * cos(radians(%(lat)s)) * power(sin(radians(s.lng - %(lng)s) / 2), 2)"
)
_SESSION_COLUMNS = ("id", "title", "description", "what_to_bring", "postcode_district", "lat", "lng",
                    "starts_at", "ends_at", "seat_id", "seat_name", "seat_priority", "distance_km")

# PostgreSQL: every ring in one statement, so a search is one round trip however sparse the area.
# A ring is a MATERIALIZED CTE whose one-time filter needs every smaller ring to have come back
# short, so PostgreSQL never runs the wider index range in a city. Rows come from every ring that
# ran; only the widest of those holds the true page. Seat and slots (as arrays: cheaper to decode
# than json) are joined to that page alone. Times travel as epoch microseconds: Django's timestamptz
# loader parses text in Python, ~2.5 µs a value and 120 values a page. The slots are sorted once in a
# subquery rather than by each of the five aggregates (PostgreSQL aggregates a plain sorted subquery
# in its order; the five arrays come from the same rows either way).
_PG_RING_SQL = """ring{k} AS MATERIALIZED (
    SELECT {k} AS ring, id, starts_at, h FROM (
        SELECT s.id, s.starts_at, {hav} AS h
        FROM canvass_canvasssession s
        WHERE s.status = 'published' AND s.ends_at > %(now)s
          AND s.lat BETWEEN %(min_lat{k})s AND %(max_lat{k})s AND s.lng BETWEEN %(min_lng{k})s AND %(max_lng{k})s
          {filters}
    ) near
    WHERE h <= %(h_ring{k})s{gate}
    ORDER BY h, starts_at, id
    LIMIT %(wanted)s
)"""
_PG_SEARCH_SQL = """WITH {rings},
found AS ({found})
SELECT s.id, s.title, s.description, s.what_to_bring, s.postcode_district, s.lat, s.lng,
       (1000000 * extract(epoch FROM s.starts_at))::bigint, (1000000 * extract(epoch FROM s.ends_at))::bigint,
       s.seat_id, t.name, t.priority, 2 * {earth_radius} * asin(least(1.0, sqrt(f.h))),
       sl.ids, sl.starts, sl.ends, sl.capacities, sl.confirmed
FROM found f
JOIN canvass_canvasssession s ON s.id = f.id
JOIN seats_seat t ON t.ons_code = s.seat_id
LEFT JOIN LATERAL (
    SELECT array_agg(id) AS ids, array_agg((1000000 * extract(epoch FROM starts_at))::bigint) AS starts,
           array_agg((1000000 * extract(epoch FROM ends_at))::bigint) AS ends,
           array_agg(capacity) AS capacities, array_agg(confirmed_count) AS confirmed
    FROM (SELECT * FROM canvass_slot WHERE session_id = s.id AND starts_at > %(now)s AND removed_at IS NULL{slot_filters}
          ORDER BY starts_at, id) ordered
) sl ON true
WHERE f.ring = (SELECT max(ring) FROM found)
ORDER BY f.h, f.starts_at, f.id
OFFSET %(offset)s
"""

# SQLite (`make run`): one statement per ring, slots in a second one. Written with functions
# Django's SQLite connection provides (no least()): the CASE clamps rounding error above 1.
_SQLITE_SEARCH_SQL = """
SELECT id, title, description, what_to_bring, postcode_district, lat, lng, starts_at, ends_at,
       seat_id, seat_name, seat_priority, {distance} AS distance_km
FROM (
    SELECT s.id, s.title, s.description, s.what_to_bring, s.postcode_district, s.lat, s.lng,
           s.starts_at, s.ends_at, s.seat_id, seat.name AS seat_name, seat.priority AS seat_priority,
           {hav} AS h
    FROM canvass_canvasssession s
    JOIN seats_seat seat ON seat.ons_code = s.seat_id
    WHERE s.status = 'published' AND s.ends_at > %(now)s
      AND s.lat BETWEEN %(min_lat0)s AND %(max_lat0)s AND s.lng BETWEEN %(min_lng0)s AND %(max_lng0)s
      {filters}
) candidates
WHERE {distance} <= %(ring0)s
ORDER BY distance_km, starts_at, id
LIMIT %(wanted)s
"""
_SQLITE_SLOTS_SQL = """
SELECT id, session_id, starts_at, ends_at, capacity, confirmed_count
FROM canvass_slot WHERE session_id IN ({ids}) AND starts_at > %(now)s AND removed_at IS NULL{slot_filters}
ORDER BY starts_at, id
"""


def _slot_filters(date_from: bool, date_to: bool, *, alias: str = "") -> str:
    """A slot's own dates: a session spanning Friday to Sunday may have nothing on the Saturday asked for."""
    filters = []
    if date_from:
        filters.append(f" AND {alias}ends_at > %(date_from)s")
    if date_to:
        filters.append(f" AND {alias}starts_at < %(date_to)s")
    return "".join(filters)


def _filters(date_from: bool, date_to: bool, seat: bool) -> str:
    filters = []
    if date_from:
        filters.append("AND s.ends_at > %(date_from)s")
    if date_to:
        filters.append("AND s.starts_at < %(date_to)s")
    if date_from or date_to:
        # The session's span is the cheap first cut; a slot inside the dates decides.
        filters.append("AND EXISTS (SELECT 1 FROM canvass_slot x WHERE x.session_id = s.id AND x.starts_at > %(now)s"
                       " AND x.removed_at IS NULL"
                       f"{_slot_filters(date_from, date_to, alias='x.')})")
    if seat:
        filters.append("AND s.seat_id = %(seat)s")
    return " ".join(filters)


@cache
def _pg_search_sql(n_rings: int, date_from: bool, date_to: bool, seat: bool) -> str:
    filters = _filters(date_from, date_to, seat)
    rings = []
    for k in range(n_rings):
        gate = "".join(f" AND (SELECT count(*) FROM ring{j}) < %(wanted)s" for j in range(k))
        rings.append(_PG_RING_SQL.format(k=k, hav=_HAV_TERM, filters=filters, gate=gate))
    found = " UNION ALL ".join(f"SELECT * FROM ring{k}" for k in range(n_rings))
    return _PG_SEARCH_SQL.format(rings=",\n".join(rings), found=found, earth_radius=EARTH_RADIUS_KM,
                                 slot_filters=_slot_filters(date_from, date_to))


@cache
def _sqlite_search_sql(date_from: bool, date_to: bool, seat: bool) -> str:
    distance = f"2 * {EARTH_RADIUS_KM} * asin(sqrt(CASE WHEN h > 1 THEN 1 ELSE h END))"
    return _SQLITE_SEARCH_SQL.format(distance=distance, hav=_HAV_TERM, filters=_filters(date_from, date_to, seat))


def _rings(radius_km: float) -> list[float]:
    rings = [min(FIRST_RING_KM, radius_km)]
    while rings[-1] < radius_km:
        rings.append(min(rings[-1] * RING_GROWTH, radius_km))
    return rings


def _ring_params(params: dict, k: int, lat: float, lng: float, ring: float) -> None:
    params[f"ring{k}"] = ring
    # The haversine term h grows with distance (d = 2R asin(sqrt(h))), so rings filter and order on h
    # and only the page's distances are computed.
    params[f"h_ring{k}"] = math.sin(ring / (2 * EARTH_RADIUS_KM)) ** 2
    params[f"min_lat{k}"], params[f"max_lat{k}"], params[f"min_lng{k}"], params[f"max_lng{k}"] = (
        bounding_box(lat, lng, ring)
    )


def sessions_near(*, lat: float, lng: float, radius_km: float, limit: int, offset: int = 0,
                  date_from: datetime | None = None, date_to: datetime | None = None,
                  seat_code: str | None = None, now: datetime | None = None) -> list[dict]:
    """Upcoming published sessions within radius_km, nearest first, as plain rows with their seat and slots.

    Uses the partial (lat, lng) index through a bounding box and orders by exact haversine
    distance, in raw SQL: building the equivalent ORM expression costs more than running it.
    Each row has the session's public fields, `distance_km`, `seat` {ons_code, name, priority}
    and `slots` [{id, starts_at, ends_at, capacity, places_left}]. Returns at most `limit` rows
    after skipping `offset`. One statement on PostgreSQL; on SQLite one per ring tried, plus the slots.
    """
    params = {"lat": lat, "lng": lng, "now": now or timezone.now(), "wanted": offset + limit, "offset": offset,
              "date_from": date_from, "date_to": date_to, "seat": seat_code}
    shape = (date_from is not None, date_to is not None, seat_code is not None)
    rings = _rings(radius_km)
    if connection.vendor != "postgresql":
        return _sessions_near_ring_by_ring(params, shape, rings, offset)
    for k, ring in enumerate(rings):
        _ring_params(params, k, lat, lng, ring)
    # bench/search.py: one statement a search, p95 1.03 ms, 21x the full-scan baseline at p95 (BENCHMARKS.md "Search").
    with connection.cursor() as cursor:
        cursor.execute(_pg_search_sql(len(rings), *shape), params)
        rows = cursor.fetchall()
    page = []
    for row in rows:
        session = _session(row)
        session["starts_at"] = _from_epoch_us(session["starts_at"])
        session["ends_at"] = _from_epoch_us(session["ends_at"])
        ids, starts, ends, capacities, confirmed = row[len(_SESSION_COLUMNS):]
        session["slots"] = [
            {"id": i, "starts_at": _from_epoch_us(start), "ends_at": _from_epoch_us(end), "capacity": c,
             "places_left": max(0, c - n)}
            for i, start, end, c, n in zip(ids or (), starts or (), ends or (), capacities or (), confirmed or (),
                                           strict=True)
        ]
        page.append(session)
    return page


def _sessions_near_ring_by_ring(params: dict, shape: tuple[bool, bool, bool], rings: list[float],
                                offset: int) -> list[dict]:
    sql = _sqlite_search_sql(*shape)
    # SQLite twin of sessions_near (the embedded default): the same rows, ring by ring.
    with connection.cursor() as cursor:
        for ring in rings:
            _ring_params(params, 0, params["lat"], params["lng"], ring)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if len(rows) >= params["wanted"]:
                break
        page = [_session(row) for row in rows[offset:]]
        for session in page:
            session["starts_at"], session["ends_at"] = _aware(session["starts_at"]), _aware(session["ends_at"])
        if page:
            by_id = {session["id"]: session for session in page}
            ids = {f"id{n}": session_id for n, session_id in enumerate(by_id)}
            cursor.execute(_SQLITE_SLOTS_SQL.format(ids=", ".join(f"%({name})s" for name in ids),
                                                    slot_filters=_slot_filters(*shape[:2])), {**params, **ids})
            for slot_id, session_id, starts_at, ends_at, capacity, confirmed in cursor.fetchall():
                by_id[session_id]["slots"].append({
                    "id": slot_id, "starts_at": _aware(starts_at), "ends_at": _aware(ends_at),
                    "capacity": capacity, "places_left": max(0, capacity - confirmed),
                })
    return page


def _session(row) -> dict:
    session = dict(zip(_SESSION_COLUMNS, row, strict=False))
    session["seat"] = {"ons_code": session.pop("seat_id"), "name": session.pop("seat_name"),
                       "priority": session.pop("seat_priority")}
    session["slots"] = []
    return session


def _from_epoch_us(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


def _aware(value):
    # SQLite hands back naive UTC datetimes (or ISO strings) from raw SQL.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def sessions_for_host(*, user):
    query = CanvassSession.objects.select_related("seat", "meeting_point").prefetch_related("slots")
    if user.is_staff:  # a regional organiser: their seats' sessions, and their own as a host
        scope = seat_scope_for(user)
        return query if scope.national else query.filter(scope.q("seat") | Q(meeting_point__host=user))
    return query.filter(meeting_point__host=user)


def session_managed(*, user, session_id) -> CanvassSession:
    """The session, if `user` manages it (its host or a coordinator); NotFound otherwise, so that the ids of
    others' sessions are not confirmed."""
    session = (CanvassSession.objects.select_related("meeting_point").filter(pk=session_id).first()
               if pk_in_range(CanvassSession, session_id) else None)
    if session is None or not meeting_point_managed_by(user=user, meeting_point=session.meeting_point):
        raise NotFound(gettext("No such session."), code="not_found")
    return session



def session_public(*, session_id, now: datetime | None = None) -> CanvassSession:
    """A published session as anyone may see it, seat and meeting point loaded, with `upcoming_slots`: its slots
    that have not started (the only ones offered). NotFound for an unknown or cancelled session.

    Two raw statements built once (core.db): the shareable session page is a hot read, and the ORM's query
    compilation costs more than the queries."""
    session = get_with_related(CanvassSession, session_id, related=("seat", "meeting_point"))
    if session is None or session.status != CanvassSession.Status.PUBLISHED:
        raise NotFound(gettext("No such session."), code="not_found")
    fields = Slot._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # bench/sql_vs_orm.py get_with_related: the ORM took 4.1x the CPU of a read built once ("Hand-written
    # statements vs the ORM"); session_public is two statements and five instances, about 0.35 ms ("Volunteers' pages").
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {Slot._meta.db_table} WHERE session_id = %s AND starts_at > %s "
                       "AND removed_at IS NULL ORDER BY starts_at, id", [session.pk, now or timezone.now()])
        session.upcoming_slots = [instance_from_row(Slot, fields, row) for row in cursor.fetchall()]
    return session


# A move (or an alternative to a full slot) stays in the seat or a bordering one, within a week of the slot.
NEARBY_WITHIN = timedelta(days=7)


def slots_nearby(*, slot: Slot, now: datetime | None = None):
    """Upcoming slots of published sessions in `slot`'s seat or a seat bordering it, starting within NEARBY_WITHIN
    of it, `slot` itself left out; full ones included. A queryset."""
    from seats.models import Seat, SeatAdjacency

    seat_id = slot.session.seat_id
    seats = {seat_id, *SeatAdjacency.objects.filter(from_seat_id=seat_id, to_seat__in=Seat.objects.current())
             .values_list("to_seat_id", flat=True)}
    return (Slot.objects.filter(starts_at__gt=now or timezone.now(), session__status=CanvassSession.Status.PUBLISHED,
                                session__seat_id__in=seats, starts_at__lt=slot.starts_at + NEARBY_WITHIN)
            .exclude(pk=slot.pk))


def slot_move_choices(*, slot: Slot, now: datetime | None = None):
    """Every slot a volunteer booked on `slot` may move to: the other upcoming slots of its session, and
    slots_nearby. The move page offers (some of) these and the move service accepts nothing else, so a private
    link cannot be walked across every front room. A queryset, full slots included (a move may waitlist)."""
    now = now or timezone.now()
    nearby = slots_nearby(slot=slot, now=now).values("pk")
    return (Slot.objects.filter(starts_at__gt=now, session__status=CanvassSession.Status.PUBLISHED)
            .filter(Q(session_id=slot.session_id) | Q(pk__in=nearby)).exclude(pk=slot.pk))

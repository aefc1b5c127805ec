"""Reads over sessions that are more than a filter: the nearest-sessions search."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, FloatField, Prefetch, Q
from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone

from core.geo import EARTH_RADIUS_KM, bounding_box
from sessions.models import CanvassSession, Slot

# The search starts with a small box and doubles it until a page is full: in a city a 2 km box
# already holds a page of sessions and the index range stays tiny; in the Highlands it grows.
FIRST_RING_KM = 2.0


@dataclass(frozen=True)
class NearbySession:
    session: CanvassSession
    distance_km: float


def haversine_expression(lat: float, lng: float):
    """Great-circle distance in km from (lat, lng) to the row's lat/lng, as a database expression."""
    dlat = Radians(F("lat") - lat)
    dlng = Radians(F("lng") - lng)
    a = Power(Sin(dlat / 2), 2) + Cos(Radians(F("lat"))) * Cos(Radians(lat)) * Power(Sin(dlng / 2), 2)
    return 2 * EARTH_RADIUS_KM * ASin(Least(Sqrt(a), 1.0, output_field=FloatField()))


def _upcoming(*, now: datetime, date_from: datetime | None, date_to: datetime | None, seat_code: str | None):
    query = CanvassSession.objects.filter(status=CanvassSession.Status.PUBLISHED, ends_at__gt=now)
    if date_from:
        query = query.filter(ends_at__gt=date_from)
    if date_to:
        query = query.filter(starts_at__lt=date_to)
    if seat_code:
        query = query.filter(seat_id=seat_code)
    return query


def sessions_near(*, lat: float, lng: float, radius_km: float, limit: int, offset: int = 0,
                  date_from: datetime | None = None, date_to: datetime | None = None,
                  seat_code: str | None = None, now: datetime | None = None) -> list[NearbySession]:
    """Upcoming published sessions within radius_km, nearest first, with slots and seat loaded.

    Uses the (lat, lng) index through a bounding box and orders by exact haversine distance.
    Returns at most `limit` sessions after skipping `offset`.
    """
    now = now or timezone.now()
    base = _upcoming(now=now, date_from=date_from, date_to=date_to, seat_code=seat_code)
    wanted = offset + limit
    ring = min(FIRST_RING_KM, radius_km)
    while True:
        min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, ring)
        rows = list(
            base.filter(lat__range=(min_lat, max_lat), lng__range=(min_lng, max_lng))
            .annotate(distance_km=haversine_expression(lat, lng))
            .filter(distance_km__lte=ring)
            .order_by("distance_km", "starts_at", "id")
            .values_list("id", "distance_km")[:wanted]
        )
        if len(rows) >= wanted or ring >= radius_km:
            break
        ring = min(ring * 4, radius_km)
    page = rows[offset:wanted]
    if not page:
        return []
    sessions = CanvassSession.objects.select_related("seat").prefetch_related(
        Prefetch("slots", queryset=Slot.objects.order_by("starts_at", "id"))
    ).in_bulk([session_id for session_id, _ in page])
    return [NearbySession(sessions[session_id], distance) for session_id, distance in page]


def sessions_for_host(*, user):
    query = CanvassSession.objects.select_related("seat", "meeting_point").prefetch_related("slots")
    if user.is_staff:
        return query
    return query.filter(meeting_point__host=user)


def slot_filter_upcoming(query, *, now: datetime | None = None):
    now = now or timezone.now()
    return query.filter(Q(starts_at__gt=now), session__status=CanvassSession.Status.PUBLISHED)

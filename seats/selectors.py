"""Reads over seats."""

import math

from django.db.models import F

from core.geo import bounding_box, haversine_km
from seats.models import Seat

SEAT_SEARCH_RADIUS_KM = 60.0


def seats_near(*, lat: float, lng: float, limit: int, radius_km: float = SEAT_SEARCH_RADIUS_KM) -> list[tuple[Seat, float]]:
    """Seats by distance from the point to each seat's population centre, nearest first."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_km)
    candidates = list(Seat.objects.filter(lat__range=(min_lat, max_lat), lng__range=(min_lng, max_lng)))
    if len(candidates) < limit:  # sparse areas (Highlands, islands): widen to every seat
        candidates = list(Seat.objects.all())
    ranked = sorted(((seat, haversine_km(lat, lng, seat.lat, seat.lng)) for seat in candidates), key=lambda pair: pair[1])
    return ranked[:limit]



_SEAT_SUMMARY_FIELDS = ("ons_code", "name", "lat", "lng", "majority", "majority_pct", "priority", "is_target")


def seats_that_matter_near(*, lat: float, lng: float, limit: int = 3, among: int = 8) -> list[tuple[Seat, float]]:
    """Of the `among` seats nearest the point, the `limit` that matter most: highest priority first, then nearest.

    One indexed-free scan of the ~650 seats ordered by an equirectangular distance (exact enough to pick the
    nearest few), the summary fields only; the distances returned are haversine."""
    cos_lat = math.cos(math.radians(lat))
    nearest = (Seat.objects.only(*_SEAT_SUMMARY_FIELDS)
               .annotate(d2=(F("lat") - lat) * (F("lat") - lat) + (F("lng") - lng) * (F("lng") - lng) * cos_lat ** 2)
               .order_by("d2", "ons_code")[:among])
    near = [(seat, haversine_km(lat, lng, seat.lat, seat.lng)) for seat in nearest]
    return sorted(near, key=lambda pair: (pair[0].priority, pair[1]))[:limit]

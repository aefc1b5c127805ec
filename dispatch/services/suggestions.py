"""The best slots for one volunteer right now.

Score (higher is better), in km-equivalents so the parts trade off in plain terms:

    score = BAND_KM * (5 - seat priority) + SHORTAGE_KM * (free places / capacity) - travel km

A priority-1 seat is worth 4 * BAND_KM (80 km) more than a priority-5 one; an empty slot is worth
SHORTAGE_KM (10 km) more than a nearly full one. Only slots with a free place, inside one of the
volunteer's availability windows, within their travel limit and not clashing with their confirmed
bookings are offered.
"""

from dataclasses import dataclass

from core.errors import NotFound
from core.geo import bounding_box, haversine_km
from dispatch.services.common import availability_filter, busy_spans, open_slots, travel_limit_km
from dispatch.solver import BAND_KM, LOWEST_PRIORITY
from sessions.models import Slot
from volunteers.models import AvailabilityWindow, Booking, Volunteer

SHORTAGE_KM = 10.0
MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class Suggestion:
    slot: Slot
    distance_km: float
    places_left: int
    score: float
    reason: str


def suggestion_score(*, distance_km: float, priority: int, places_left: int, capacity: int) -> float:
    return BAND_KM * (LOWEST_PRIORITY - priority) + SHORTAGE_KM * places_left / capacity - distance_km


def volunteer_by_token(token: str) -> Volunteer:
    volunteer = Volunteer.objects.filter(token=token).first()
    if volunteer is None:
        raise NotFound("No volunteer with this link.")
    return volunteer


def suggestions_for_volunteer(*, volunteer: Volunteer, limit: int = 10) -> list[Suggestion]:
    """Rank open slots for the volunteer by the documented score. Read-only."""
    windows = list(AvailabilityWindow.objects.filter(volunteer=volunteer).values_list("starts_at", "ends_at"))
    if not windows:
        return []
    limit_km = travel_limit_km(volunteer)
    min_lat, max_lat, min_lng, max_lng = bounding_box(volunteer.lat, volunteer.lng, limit_km)
    booked = Booking.objects.filter(volunteer=volunteer).exclude(
        status__in=[Booking.Status.CANCELLED, Booking.Status.REDIRECTED]
    ).values("slot_id")
    slots = (
        open_slots()
        .filter(availability_filter(windows))
        .filter(session__lat__range=(min_lat, max_lat), session__lng__range=(min_lng, max_lng))
        .exclude(pk__in=booked)
        .select_related("session__seat")
        .order_by("starts_at", "id")[:MAX_CANDIDATES]
    )
    busy = busy_spans(volunteer_id=volunteer.pk)
    ranked = []
    for slot in slots:
        if any(start < slot.ends_at and end > slot.starts_at for start, end in busy):
            continue
        distance = haversine_km(volunteer.lat, volunteer.lng, slot.session.lat, slot.session.lng)
        if distance > limit_km:
            continue
        seat = slot.session.seat
        places_left = slot.capacity - slot.confirmed_count
        score = suggestion_score(distance_km=distance, priority=seat.priority, places_left=places_left,
                                 capacity=slot.capacity)
        reason = f"{seat.name}, {distance:.1f} km, priority {seat.priority}, needs {places_left} more"
        ranked.append(Suggestion(slot, round(distance, 2), places_left, round(score, 2), reason))
    ranked.sort(key=lambda s: (-s.score, s.distance_km, s.slot.starts_at, s.slot.pk))
    return ranked[:limit]

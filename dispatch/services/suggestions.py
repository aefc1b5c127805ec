"""The best slots for one volunteer right now.

Score (higher is better), in km-equivalents so the parts trade off in plain terms:

    score = BAND_KM * (5 - seat priority) + SHORTAGE_KM * (free places / capacity) - travel km

A priority-1 seat is worth 4 * BAND_KM (80 km) more than a priority-5 one; an empty slot is worth
SHORTAGE_KM (10 km) more than a nearly full one. Only slots with a free place for each of the sign-up's
party, inside one of the volunteer's availability windows, within their travel limit and not clashing with
their confirmed bookings are offered.
"""

from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import NotFound
from core.geo import bounding_box, haversine_km
from dispatch.services.common import availability_filter, busy_spans, open_slots, travel_limit_km
from dispatch.solver import BAND_KM, LOWEST_PRIORITY
from sessions.locations import public_distance_km
from sessions.models import Slot
from sessions.selectors import sessions_near, slots_nearby
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


def _suggestion(slot: Slot, distance_km: float) -> Suggestion:
    """`slot` scored for someone `distance_km` away, with the distance shown as public figures are and the reason
    in words."""
    seat = slot.session.seat
    places_left = slot.capacity - slot.confirmed_count
    score = suggestion_score(distance_km=distance_km, priority=seat.priority, places_left=places_left,
                             capacity=slot.capacity)
    shown_km = public_distance_km(distance_km)
    reason = f"{seat.name}, {shown_km:.1f} km, priority {seat.priority}, needs {places_left} more"
    return Suggestion(slot, shown_km, places_left, round(score, 2), reason)


def _best_first(suggestions: list[Suggestion], limit: int) -> list[Suggestion]:
    return sorted(suggestions, key=lambda s: (-s.score, s.distance_km, s.slot.starts_at, s.slot.pk))[:limit]


def volunteer_by_token(token: str) -> Volunteer:
    volunteer = Volunteer.objects.filter(token=token).first()
    if volunteer is None:
        raise NotFound(gettext("No volunteer with this link."))
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
        if slot.capacity - slot.confirmed_count < volunteer.party_size:
            continue  # no room for the whole party: an assignment would not place it there either
        if any(start < slot.ends_at and end > slot.starts_at for start, end in busy):
            continue
        # From the session's public point (its lat/lng), as every figure a volunteer sees.
        distance = haversine_km(volunteer.lat, volunteer.lng, slot.session.lat, slot.session.lng)
        if distance > limit_km:
            continue
        ranked.append(_suggestion(slot, distance))
    return _best_first(ranked, limit)


# The results page ranks this many nearest sessions by the score above, then carries on nearest first: a fixed
# pool keeps paging stable (each session appears on exactly one page) and the search one bounded query.
RANKED_POOL = 40


@dataclass(frozen=True)
class RankedPage:
    sessions: list[dict]
    has_more: bool
    # How many sessions the search found, as far as it looked: exactly `count`, or (count_exact False) more.
    count: int = 0
    count_exact: bool = True


def session_row_score(row: dict) -> float:
    """A search row's score: that of its best slot still open to booking (the suggestions' score)."""
    priority = row["seat"]["priority"]
    return max(
        (suggestion_score(distance_km=row["distance_km"], priority=priority, places_left=slot["places_left"],
                          capacity=slot["capacity"]) for slot in row["slots"]),
        default=float("-inf"),
    )


def sessions_ranked_near(*, lat: float, lng: float, radius_km: float, limit: int, offset: int = 0,
                         date_from=None, date_to=None, seat_code: str | None = None, now=None) -> RankedPage:
    """Sessions for a volunteer's search: the RANKED_POOL nearest ordered by suggestion_score (priority traded
    against distance and shortage, as for suggestions), then the rest nearest first. Slots that have started
    are dropped, and sessions left with none. `limit` must divide RANKED_POOL so no page straddles the two.
    `seat_code` keeps one seat's sessions. The count is exact within the pool, "more than" beyond it (counting
    every session in a city's radius would cost more than the page). Read-only; one sessions_near query."""
    now = now or timezone.now()
    common = {"lat": lat, "lng": lng, "radius_km": radius_km, "date_from": date_from, "date_to": date_to,
              "seat_code": seat_code, "now": now}
    if offset < RANKED_POOL:
        rows = sessions_near(limit=RANKED_POOL + 1, offset=0, **common)
        has_more_beyond = len(rows) > RANKED_POOL
        pool = [row for row in (_upcoming_slots_only(row, now) for row in rows[:RANKED_POOL]) if row["slots"]]
        pool.sort(key=lambda row: (-session_row_score(row), row["distance_km"], row["starts_at"], row["id"]))
        page = pool[offset:offset + limit]
        return RankedPage(page, has_more=offset + limit < len(pool) or has_more_beyond, count=len(pool),
                          count_exact=not has_more_beyond)
    rows = sessions_near(limit=limit + 1, offset=offset, **common)
    page = [row for row in (_upcoming_slots_only(row, now) for row in rows[:limit]) if row["slots"]]
    return RankedPage(page, has_more=len(rows) > limit, count=offset + len(page), count_exact=len(rows) <= limit)


def _upcoming_slots_only(row: dict, now) -> dict:
    row["slots"] = [slot for slot in row["slots"] if slot["starts_at"] > now]
    return row


def slot_alternatives(*, slot: Slot, lat: float | None = None, lng: float | None = None,
                      limit: int = 5) -> list[Suggestion]:
    """Open slots to offer instead of a full one: in its seat and the seats bordering it, starting within a week
    of it, ranked by suggestion_score from the volunteer's point (or the session's). Read-only."""
    session = slot.session
    lat, lng = (lat, lng) if lat is not None and lng is not None else (session.lat, session.lng)
    candidates = (slots_nearby(slot=slot).filter(confirmed_count__lt=F("capacity")).select_related("session__seat")
                  .order_by("starts_at", "id")[:MAX_CANDIDATES])
    ranked = [_suggestion(other, haversine_km(lat, lng, other.session.lat, other.session.lng))
              for other in candidates]
    return _best_first(ranked, limit)

"""Feasible (volunteer, slot) pairs for a batch assignment, built with numpy from a few bulk reads."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.db import any_of
from core.geo import EARTH_RADIUS_KM
from dispatch.services.common import open_slots
from dispatch.solver import best_k_mask, pair_value
from volunteers.models import AvailabilityWindow, Booking, Volunteer

# A booking an earlier run made that still counts against "one assigned slot a day".
ASSIGNED_HOLDING = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.PENDING)
CELL_DEG = 0.25  # volunteers are handled in grid cells of about 28 km so each distance block stays small

REASON_NO_WINDOW = "no_availability_in_period"
REASON_TOO_FAR = "no_slot_within_travel_limit"
REASON_NO_TIME = "no_slot_at_available_times"
REASON_OUTBID = "slots_filled_by_better_matches"


@dataclass
class Problem:
    slot_ids: np.ndarray
    slot_seat: list[str]
    slot_priority: np.ndarray
    slot_free: np.ndarray
    slot_start: np.ndarray  # epoch seconds
    slot_end: np.ndarray
    volunteer_ids: np.ndarray
    vol: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # arcs
    slot: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    distance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reason: list[str] = field(default_factory=list)  # why a volunteer has no arc ("" if they have some)
    all_arcs: tuple = ()  # every feasible arc before the K cut (vol, slot, distance, value): the greedy baseline
    # Per volunteer: where they are, how far they go, how they travel (dispatch.services.lift_placement).
    v_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v_lng: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v_limit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v_driver_seats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # 0: not a driver
    v_needs_lift: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    v_party: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # people per sign-up (>= 1)
    slot_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slot_lng: np.ndarray = field(default_factory=lambda: np.zeros(0))
    feasible: "Feasibility | None" = None


@dataclass
class Feasibility:
    """Whether (volunteer, slot) pairs fit the volunteers' time: inside a window, clear of their confirmed places,
    not a slot they hold, not a day an earlier run placed them. Distance is the caller's."""

    slot_start: np.ndarray
    slot_end: np.ndarray
    n: int
    windows: tuple  # (volunteer index, start, end) arrays
    confirmed: tuple  # (volunteer index, start, end) arrays of confirmed places
    held_codes: np.ndarray  # volunteer index * n_slots + slot index of places they hold
    placed_codes: np.ndarray  # volunteer index * 10,000,000 + local day of an earlier run's placement
    slot_day: np.ndarray

    def ok(self, vol: np.ndarray, slot: np.ndarray) -> np.ndarray:
        start, end = self.slot_start[slot], self.slot_end[slot]
        ok = _any_span(vol, start, end, *self.windows, self.n, inside=True)
        ok &= ~_any_span(vol, start, end, *self.confirmed, self.n, inside=False)
        ok &= ~np.isin(vol * len(self.slot_start) + slot, self.held_codes)
        return ok & ~np.isin(vol * 10_000_000 + self.slot_day[slot], self.placed_codes)


def _epoch(values) -> np.ndarray:
    return np.array([v.timestamp() for v in values], dtype=np.float64)


def haversine_matrix(lat1, lng1, lat2, lng2) -> np.ndarray:
    """Distances in km between every point of set 1 (rows) and set 2 (columns)."""
    p1, p2 = np.radians(lat1)[:, None], np.radians(lat2)[None, :]
    dphi = p2 - p1
    dlmb = np.radians(lng2)[None, :] - np.radians(lng1)[:, None]
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def slots_for_period(*, date_from: datetime, date_to: datetime, region: str | None, seat_codes: list[str] | None):
    # A host who approves each volunteer chooses them; runs do not book people onto those sessions.
    query = open_slots().filter(starts_at__gte=date_from, ends_at__lte=date_to, session__requires_approval=False)
    if region:
        query = query.filter(session__seat__region=region)
    if seat_codes:
        query = query.filter(session__seat_id__in=seat_codes)
    return query


def problem_build(*, date_from: datetime, date_to: datetime, region: str | None = None,
                  seat_codes: list[str] | None = None, k: int = 10) -> Problem:
    """Read slots, volunteers, windows and bookings; return the arcs each volunteer may take. Read-only."""
    # session__lat/lng is the public point, not the door: which slots are within a volunteer's travel limit
    # is itself a yes/no about the distance, so it is decided from what the public may know.
    rows = list(
        slots_for_period(date_from=date_from, date_to=date_to, region=region, seat_codes=seat_codes)
        .order_by("id")
        .values_list("id", "starts_at", "ends_at", "capacity", "confirmed_count", "session__lat", "session__lng",
                     "session__seat_id", "session__seat__priority")
    )
    windows = list(
        # Only volunteers who proved their phone are dispatched.
        AvailabilityWindow.objects.filter(starts_at__lt=date_to, ends_at__gt=date_from,
                                          volunteer__phone_verified_at__isnull=False)
        .order_by("volunteer_id", "starts_at")
        .values_list("volunteer_id", "starts_at", "ends_at")
    )
    window_vol_ids = np.array([w[0] for w in windows], dtype=np.int64)
    volunteer_ids = np.unique(window_vol_ids)
    problem = Problem(
        slot_ids=np.array([r[0] for r in rows], dtype=np.int64), slot_seat=[r[7] for r in rows],
        slot_priority=np.array([r[8] for r in rows], dtype=np.int64),
        slot_free=np.array([r[3] - r[4] for r in rows], dtype=np.int64),
        slot_start=_epoch(r[1] for r in rows), slot_end=_epoch(r[2] for r in rows), volunteer_ids=volunteer_ids,
    )
    n = len(volunteer_ids)
    problem.reason = [REASON_TOO_FAR] * n
    if n == 0 or not rows:
        problem.reason = [REASON_TOO_FAR if n else REASON_NO_WINDOW] * n
        return problem

    vols = {
        pk: (lat, lng, travel, mode, seats, party)
        for pk, lat, lng, travel, mode, seats, party in Volunteer.objects.filter(any_of("pk", volunteer_ids.tolist()))
        .values_list("pk", "lat", "lng", "max_travel_km", "travel", "car_seats", "party_size")
        .iterator(chunk_size=10000)
    }
    ordered = [vols[v] for v in volunteer_ids.tolist()]
    v_lat = np.array([v[0] for v in ordered])
    v_lng = np.array([v[1] for v in ordered])
    default_km = settings.DIRECT_BOOKING_TRAVEL_KM
    v_limit = np.array([v[2] or default_km for v in ordered])
    problem.v_lat, problem.v_lng, problem.v_limit = v_lat, v_lng, v_limit
    problem.v_driver_seats = np.array([v[4] if v[3] == Volunteer.Travel.DRIVER else 0 for v in ordered],
                                      dtype=np.int64)
    problem.v_needs_lift = np.array([v[3] == Volunteer.Travel.NEEDS_LIFT for v in ordered], dtype=bool)
    problem.v_party = np.array([v[5] for v in ordered], dtype=np.int64)

    s_lat = np.array([r[5] for r in rows])
    s_lng = np.array([r[6] for r in rows])
    problem.slot_lat, problem.slot_lng = s_lat, s_lng
    vol, slot, dist = spatial_pairs(v_lat, v_lng, v_limit, s_lat, s_lng)

    # Availability: the slot must fit inside one of the volunteer's windows.
    w_vol = np.searchsorted(volunteer_ids, window_vol_ids)
    windows_spans = (w_vol, _epoch(w[1] for w in windows), _epoch(w[2] for w in windows))
    # Not while holding a confirmed booking that overlaps, and not a slot they are already on.
    busy = list(
        Booking.objects.filter(any_of("volunteer_id", volunteer_ids.tolist()), slot__starts_at__lt=date_to,
                               slot__ends_at__gt=date_from)
        .filter(Q(status=Booking.Status.CONFIRMED) | Q(status__in=[Booking.Status.PENDING, Booking.Status.WAITLISTED]))
        .values_list("volunteer_id", "slot_id", "status", "slot__starts_at", "slot__ends_at")
    )
    b_vol = np.searchsorted(volunteer_ids, np.array([b[0] for b in busy], dtype=np.int64))
    confirmed = np.array([b[2] == Booking.Status.CONFIRMED for b in busy], dtype=bool)
    confirmed_spans = (b_vol[confirmed], _epoch(b[3] for b in busy)[confirmed], _epoch(b[4] for b in busy)[confirmed])
    slot_index = np.minimum(np.searchsorted(problem.slot_ids, np.array([b[1] for b in busy], dtype=np.int64)),
                            len(problem.slot_ids) - 1)
    known = problem.slot_ids[slot_index] == np.array([b[1] for b in busy], dtype=np.int64)
    problem.feasible = Feasibility(
        slot_start=problem.slot_start, slot_end=problem.slot_end, n=n, windows=windows_spans,
        confirmed=confirmed_spans, held_codes=(b_vol * len(rows) + slot_index)[known],
        placed_codes=_placed_codes(volunteer_ids, date_from=date_from, date_to=date_to),
        slot_day=np.array([local_day(row[1]) for row in rows], dtype=np.int64))
    # A party fits only a slot with room for all of it: a smaller one is no arc, so it spends none of the K below.
    ok = problem.feasible.ok(vol, slot) & (problem.slot_free[slot] >= problem.v_party[vol])

    near = np.zeros(n, dtype=bool)
    near[vol] = True
    vol, slot, dist = vol[ok], slot[ok], dist[ok]
    value = pair_value(distance_km=dist, priority=problem.slot_priority[slot])
    problem.all_arcs = (vol, slot, dist, value)
    has_arc = np.zeros(n, dtype=bool)
    has_arc[vol] = True
    problem.reason = ["" if has_arc[i] else (REASON_NO_TIME if near[i] else REASON_TOO_FAR) for i in range(n)]
    # Each volunteer keeps their k best-valued arcs and their k nearest ones: the nearest keep the graph
    # from crowding everyone onto the same high-priority slots and losing people greedy would place.
    kept = (best_k_mask(vol=vol, slot=slot, value=value, k=k)
            | best_k_mask(vol=vol, slot=slot, value=-np.rint(dist * 1000).astype(np.int64), k=k))
    problem.vol, problem.slot, problem.value, problem.distance = vol[kept], slot[kept], value[kept], dist[kept]
    return problem


def local_day(moment) -> int:
    """The local calendar day of a moment, as an ordinal (a run's "one slot a day" is in local days)."""
    return timezone.localtime(moment).date().toordinal()


def _placed_codes(volunteer_ids, *, date_from: datetime, date_to: datetime) -> np.ndarray:
    """volunteer index * 10,000,000 + local day of each place an earlier run gave: one assigned slot a day each,
    however many runs cover that day (a volunteer may still book more themselves)."""
    margin = timedelta(days=1)
    placed = list(
        Booking.objects.filter(any_of("volunteer_id", volunteer_ids.tolist()), source=Booking.Source.ASSIGNED,
                               status__in=ASSIGNED_HOLDING, slot__starts_at__lt=date_to + margin,
                               slot__starts_at__gte=date_from - margin)
        .values_list("volunteer_id", "slot__starts_at")
    )
    return np.array([int(np.searchsorted(volunteer_ids, v)) * 10_000_000 + local_day(starts) for v, starts in placed],
                    dtype=np.int64)


def spatial_pairs(v_lat, v_lng, v_limit, s_lat, s_lng):
    """Every (volunteer, slot) pair within the volunteer's travel limit, with the distance."""
    order = np.argsort(s_lat, kind="stable")
    sorted_lat = s_lat[order]
    cells = np.floor(v_lat / CELL_DEG).astype(np.int64) * 100000 + np.floor(v_lng / CELL_DEG).astype(np.int64)
    cell_order = np.argsort(cells, kind="stable")
    bounds = np.r_[0, np.flatnonzero(np.diff(cells[cell_order])) + 1, len(cells)]
    out_v, out_s, out_d = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        members = cell_order[a:b]
        reach = v_limit[members].max()
        dlat = np.degrees(reach / EARTH_RADIUS_KM)
        lo = np.searchsorted(sorted_lat, v_lat[members].min() - dlat, side="left")
        hi = np.searchsorted(sorted_lat, v_lat[members].max() + dlat, side="right")
        if lo >= hi:
            continue
        candidates = order[lo:hi]
        cos_lat = max(np.cos(np.radians(min(abs(v_lat[members]).max() + dlat, 89.0))), 1e-6)
        dlng = np.degrees(reach / (EARTH_RADIUS_KM * cos_lat))
        lng_ok = (s_lng[candidates] >= v_lng[members].min() - dlng) & (s_lng[candidates] <= v_lng[members].max() + dlng)
        candidates = candidates[lng_ok]
        if len(candidates) == 0:
            continue
        distances = haversine_matrix(v_lat[members], v_lng[members], s_lat[candidates], s_lng[candidates])
        rows, cols = np.nonzero(distances <= v_limit[members][:, None])
        out_v.append(members[rows])
        out_s.append(candidates[cols])
        out_d.append(distances[rows, cols])
    if not out_v:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(out_v), np.concatenate(out_s), np.concatenate(out_d)


def _any_span(vol, start, end, span_vol, span_start, span_end, n: int, *, inside: bool) -> np.ndarray:
    """For each pair, whether the volunteer has a span containing (inside) or overlapping the slot's time."""
    result = np.zeros(len(vol), dtype=bool)
    if len(span_vol) == 0 or len(vol) == 0:
        return result
    order = np.argsort(span_vol, kind="stable")
    span_vol, span_start, span_end = span_vol[order], span_start[order], span_end[order]
    first = np.searchsorted(span_vol, np.arange(n), side="left")
    count = np.searchsorted(span_vol, np.arange(n), side="right") - first
    pair_first, pair_count = first[vol], count[vol]
    for j in range(int(count.max())):
        has = pair_count > j
        idx = pair_first[has] + j
        if inside:
            hit = (span_start[idx] <= start[has]) & (span_end[idx] >= end[has])
        else:
            hit = (span_start[idx] < end[has]) & (span_end[idx] > start[has])
        result[has] |= hit
    return result

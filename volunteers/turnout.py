"""Learned turnout: how many of a slot's booked volunteers are expected to come, from what happened before
(docs/after-the-session.md has the formula), and over-booking by the expected no-shows where a seat's
coordinators allow it.

History is every proven booking of an ended slot whose outcome is known: attended (the host marked it, or the
volunteer checked in; or, unmarked, the volunteer said they went) or not (marked no-show, or said they did not go).
Bookings with no outcome are left out. Each booking is bucketed by its seat, the slot's local weekday and starting
hour, and whether the volunteer was new (no attended slot before this one) or returning. A bucket's rate is shrunk
towards its seat's rate for that kind of volunteer, that towards the national rate, and that towards the prior:

    rate(level) = (attended + W * rate(parent)) / (booked + W),   W = TURNOUT_PRIOR_WEIGHT, root parent TURNOUT_PRIOR

and never below TURNOUT_FLOOR. History is the last TURNOUT_HISTORY_DAYS; the rates are cached
TURNOUT_CACHE_SECONDS. With no history every slot expects TURNOUT_PRIOR of its proven places; each level's
own history takes over as it grows past W bookings.
"""

import hashlib
import math
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.utils import timezone

from sessions.models import Slot
from sessions.signals import slot_capacity_raised
from volunteers.models import Booking, SeatTurnoutPolicy

HELD = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED)
_CAME = Q(status=Booking.Status.ATTENDED) | Q(status=Booking.Status.CONFIRMED, feedback__went=True)
_MISSED = Q(status=Booking.Status.NO_SHOW) | Q(status=Booking.Status.CONFIRMED, feedback__went=False)


def _returning(slot_start_ref="slot__starts_at"):
    """The booking's volunteer attended a slot that started before this booking's slot."""
    return Exists(Booking.objects.filter(volunteer=OuterRef("volunteer"), status=Booking.Status.ATTENDED,
                                         slot__starts_at__lt=OuterRef(slot_start_ref)))


def _shrunk(attended: int, booked: int, parent: float) -> float:
    weight = settings.TURNOUT_PRIOR_WEIGHT
    return (attended + weight * parent) / (booked + weight)


@dataclass
class Rates:
    """Counts of (booked, attended) at each level, and the rate of any bucket from them."""

    bucket: dict = field(default_factory=dict)   # (seat, weekday, hour, returning) -> (booked, attended)
    seat: dict = field(default_factory=dict)     # (seat, returning)
    national: dict = field(default_factory=dict)  # returning

    def rate(self, *, seat: str, weekday: int, hour: int, returning: bool) -> float:
        national = _shrunk(*self._pair(self.national, returning), settings.TURNOUT_PRIOR)
        seat_rate = _shrunk(*self._pair(self.seat, (seat, returning)), national)
        rate = _shrunk(*self._pair(self.bucket, (seat, weekday, hour, returning)), seat_rate)
        return max(settings.TURNOUT_FLOOR, min(1.0, rate))

    @staticmethod
    def _pair(counts: dict, key) -> tuple[int, int]:
        booked, attended = counts.get(key, (0, 0))
        return attended, booked


def _history(now: datetime):
    """Proven bookings of slots that ended within TURNOUT_HISTORY_DAYS before `now`, outcome known."""
    return (Booking.objects.filter(proven_at__isnull=False, slot__ends_at__lte=now,
                                   slot__ends_at__gt=now - timedelta(days=settings.TURNOUT_HISTORY_DAYS))
            .filter(_CAME | _MISSED))


def _cached(key: str, now: datetime | None, compute):
    """`compute()`, kept TURNOUT_CACHE_SECONDS in the shared cache when asked about the present (history changes
    slowly, and every roster and the dashboard ask). A cache that is down is skipped."""
    seconds = settings.TURNOUT_CACHE_SECONDS
    if now is not None or not seconds:
        return compute()
    key = "turnout:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    try:
        value = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation; Redis down must not break a page
        return compute()
    if value is None:
        value = compute()
        with suppress(Exception):
            cache.set(key, value, seconds)
    return value


def turnout_rates(*, seat_ids, now: datetime | None = None) -> Rates:
    """The history behind expected turnout for these seats (and the national level): two grouped statements, or
    none when cached (_cached)."""
    seat_ids = sorted(set(seat_ids))
    return _cached("rates:" + ",".join(seat_ids), now, lambda: _turnout_rates(seat_ids=seat_ids, now=now))


def _turnout_rates(*, seat_ids, now: datetime | None) -> Rates:
    now = now or timezone.now()
    history = (_history(now)
               .annotate(returning=_returning())
               .annotate(came=Case(When(_CAME, then=F("party_size")), default=Value(0), output_field=IntegerField())))
    rates = Rates()
    for row in history.values("returning").annotate(n=Sum("party_size"), a=Sum("came")):
        rates.national[row["returning"]] = (row["n"], row["a"] or 0)
    tz = timezone.get_current_timezone()
    local = (history.filter(slot__session__seat_id__in=list(seat_ids))
             .annotate(weekday=ExtractIsoWeekDay("slot__starts_at", tzinfo=tz), hour=ExtractHour("slot__starts_at", tzinfo=tz))
             .values("slot__session__seat_id", "weekday", "hour", "returning")
             .annotate(n=Sum("party_size"), a=Sum("came")))
    seat_totals = defaultdict(lambda: [0, 0])
    for row in local:
        seat, returning = row["slot__session__seat_id"], row["returning"]
        rates.bucket[(seat, row["weekday"], row["hour"], returning)] = (row["n"], row["a"] or 0)
        seat_totals[(seat, returning)][0] += row["n"]
        seat_totals[(seat, returning)][1] += row["a"] or 0
    rates.seat = {key: tuple(value) for key, value in seat_totals.items()}
    return rates


@dataclass(frozen=True)
class Expected:
    """A slot's expected turnout: `expected` of its `booked` proven places (rounded to the nearest person)."""

    booked: int
    expected: int
    rate: float


def expected_turnout(*, slot_ids, now: datetime | None = None, rates: Rates | None = None) -> dict[int, Expected]:
    """Expected turnout of each slot: the sum over its proven, held places of their bucket's rate (volunteers who
    have come before and new ones weigh differently). Three statements whatever the number of slots."""
    slot_ids = list(slot_ids)
    slots = {row["pk"]: row for row in Slot.all_objects.filter(pk__in=slot_ids)
             .values("pk", "starts_at", "session__seat_id")}
    rates = rates or turnout_rates(seat_ids={row["session__seat_id"] for row in slots.values()}, now=now)
    sums = defaultdict(float)
    counts = defaultdict(int)
    held = (Booking.objects.filter(slot_id__in=slot_ids, status__in=HELD, proven_at__isnull=False)
            .annotate(returning=_returning()).values_list("slot_id", "returning", "party_size"))
    for slot_id, returning, people in held:  # a party: each of its people is expected at the booker's rate
        slot = slots[slot_id]
        start = timezone.localtime(slot["starts_at"])
        sums[slot_id] += people * rates.rate(seat=slot["session__seat_id"], weekday=start.isoweekday(),
                                             hour=start.hour, returning=returning)
        counts[slot_id] += people
    return {pk: Expected(booked=counts[pk], expected=round(sums[pk]),
                         rate=(sums[pk] / counts[pk]) if counts[pk] else _empty_rate(rates, slots[pk]))
            for pk in slots}


def _empty_rate(rates: Rates, slot: dict) -> float:
    start = timezone.localtime(slot["starts_at"])
    return rates.rate(seat=slot["session__seat_id"], weekday=start.isoweekday(), hour=start.hour, returning=False)


def seat_expected_rates(*, seat_ids, now: datetime | None = None) -> dict[str, float]:
    """Each seat's expected turnout rate at the seat level (either kind of volunteer, any time of day): its own
    history shrunk towards the national rate, that towards the prior, as above. For the dashboard's shortfall, which
    counts a period's places per seat: two grouped statements, with no per-booking lookup of earlier attendance."""
    seat_ids = sorted(set(seat_ids))
    return _cached("seats:" + ",".join(seat_ids), now, lambda: _seat_expected_rates(seat_ids=seat_ids, now=now))


def _seat_expected_rates(*, seat_ids, now: datetime | None) -> dict[str, float]:
    history = (_history(now or timezone.now())
               .annotate(came=Case(When(_CAME, then=F("party_size")), default=Value(0), output_field=IntegerField())))
    national = history.aggregate(n=Sum("party_size"), a=Sum("came"))
    national_rate = _shrunk(national["a"] or 0, national["n"] or 0, settings.TURNOUT_PRIOR)
    per_seat = {row["slot__session__seat_id"]: (row["n"], row["a"] or 0) for row in
                history.filter(slot__session__seat_id__in=list(seat_ids)).values("slot__session__seat_id")
                .annotate(n=Sum("party_size"), a=Sum("came"))}
    result = {}
    for seat in seat_ids:
        booked, attended = per_seat.get(seat, (0, 0))
        result[seat] = max(settings.TURNOUT_FLOOR, min(1.0, _shrunk(attended, booked, national_rate)))
    return result


# ---- over-booking --------------------------------------------------------------------------------------------

def seat_overbook_allowed(seat_id: str) -> bool:
    row = SeatTurnoutPolicy.objects.filter(seat_id=seat_id).values_list("overbook", flat=True).first()
    return settings.TURNOUT_OVERBOOK_DEFAULT if row is None else row


def overbook_places(*, capacity: int, rate: float) -> int:
    """Extra places for a slot of `capacity` whose volunteers come at `rate`: enough that the expected turnout of a
    full slot is about its capacity (capacity / rate - capacity, rounded down), capped at
    TURNOUT_OVERBOOK_MAX_SHARE of the capacity."""
    if rate <= 0 or rate >= 1:
        return 0
    extra = math.floor(capacity / rate - capacity)
    return max(0, min(extra, math.floor(capacity * settings.TURNOUT_OVERBOOK_MAX_SHARE)))


def slots_overbook_refresh(*, seat_id: str | None = None, now: datetime | None = None) -> int:
    """Set each upcoming slot's over-booking (Slot.overbook) from its seat's setting and its expected no-show rate;
    slots of seats that do not allow it go back to none (never below the places already confirmed beyond capacity).
    Run when a coordinator changes the setting and hourly by beat. Idempotent. Returns how many slots changed."""
    now = now or timezone.now()
    slots = Slot.objects.filter(starts_at__gt=now)
    if seat_id is not None:
        slots = slots.filter(session__seat_id=seat_id)
    rows = list(slots.values("pk", "capacity", "overbook", "confirmed_count", "starts_at", "session__seat_id"))
    seats = {row["session__seat_id"] for row in rows}
    allowed = {seat: seat_overbook_allowed(seat) for seat in seats}
    rates = turnout_rates(seat_ids=[seat for seat in seats if allowed[seat]], now=now) if any(allowed.values()) else None
    changed = 0
    for row in rows:
        extra = 0
        if allowed[row["session__seat_id"]]:
            start = timezone.localtime(row["starts_at"])
            rate = rates.rate(seat=row["session__seat_id"], weekday=start.isoweekday(), hour=start.hour, returning=False)
            extra = overbook_places(capacity=row["capacity"], rate=rate)
        extra = max(extra, row["confirmed_count"] - row["capacity"])  # the database refuses less
        if extra != row["overbook"] and Slot.objects.filter(
                pk=row["pk"], confirmed_count__lte=row["capacity"] + extra).update(overbook=extra):
            changed += 1
            if extra > row["overbook"]:  # more room: the waitlist moves up (volunteers.apps, on commit)
                slot_capacity_raised.send(sender=Slot, slot=Slot(pk=row["pk"]))
    return changed


@transaction.atomic
def seat_overbook_set(*, seat_id: str, allowed: bool) -> SeatTurnoutPolicy:
    """A coordinator lets a seat's slots be over-booked by the expected no-show rate, or stops it; the seat's upcoming
    slots follow in the same transaction."""
    policy, _ = SeatTurnoutPolicy.objects.update_or_create(seat_id=seat_id, defaults={"overbook": allowed})
    slots_overbook_refresh(seat_id=seat_id)
    return policy

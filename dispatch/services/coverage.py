"""Coverage per seat for a period: places, bookings, fill and overflow sent and received."""

import functools
import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.models import BoundarySet, Seat
from seats.scopes import NATIONAL, SeatScope
from sessions.models import CanvassSession, Slot
from volunteers.models import Booking
from volunteers.turnout import seat_expected_rates

logger = logging.getLogger(__name__)
RECEIVED_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)


def coverage_period(*, date_from: datetime | None = None, date_to: datetime | None = None,
                    now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period a coverage view covers when not told: from now (or date_from) for COVERAGE_DEFAULT_DAYS."""
    span = timedelta(days=settings.COVERAGE_DEFAULT_DAYS)
    if date_from is None:
        date_from = (date_to - span) if date_to is not None else (now or timezone.now())
    if date_to is None:
        date_to = date_from + span
    return date_from, date_to


def period_days(date_from: datetime, date_to: datetime) -> int:
    """Whole days in [date_from, date_to), a part day counting as one: what a seat's daily need is multiplied by."""
    return max(1, math.ceil((date_to - date_from).total_seconds() / 86400 - 1e-9))


def need_for(*, priority: int, need_per_day: int | None, days: int) -> int:
    """Proven places the seat needs over `days`: its own daily figure, else SEAT_NEED_BY_PRIORITY's for its band."""
    if need_per_day is None:
        bands = settings.SEAT_NEED_BY_PRIORITY
        need_per_day = int(bands[min(max(priority, 1), len(bands)) - 1])
    return need_per_day * days


def shortfall_weight(row: dict) -> int:
    """Shortfall x priority weight (priority 1 weighs 5, priority 5 weighs 1): the dashboard's default order."""
    return row["shortfall"] * (6 - min(max(row["priority"], 1), 5))


def coverage_by_seat(*, date_from: datetime, date_to: datetime, region: str | None = None,
                     scope: SeatScope = NATIONAL, every_seat: bool = False, all_sets: bool = False) -> list[dict]:
    """One row per seat of the current boundary set (of any set with all_sets: an old seat's page shows its
    history) and of the caller's scope with published slots in [date_from, date_to) (with `every_seat`,
    also each seat that needs volunteers and has none), largest shortfall x priority first. Read-only.

    need: proven places the seat needs over the period; proven: confirmed (or attended) places whose phone is
    proven; unproven: places held by phones not yet proven (shown, never counted against the need);
    expected: the proven places times the seat's expected turnout rate (volunteers.turnout.seat_expected_rates);
    shortfall = max(0, need - expected). One statement: the period's slots and their bookings counted per seat
    next to every seat's name, so the dashboard with 650 seats costs one round trip whatever the number of slots."""
    if date_to <= date_from:
        raise InvalidInput(gettext("date_to must be after date_from."), code="date_order",
                           fields={"date_to": [gettext("Must be after date_from.")]})
    scope.check_region(region)
    codes = None if scope.national else sorted(scope.seat_codes)
    if codes is not None and not codes:
        return []
    sql, params = _coverage_statement(region=bool(region), scoped=len(codes) if codes is not None else None,
                                      all_sets=all_sets)
    # A session holding a slot of the period overlaps the period: said outright, so that the (seat, starts_at)
    # index serves a few seats' figures (the seat page) without reading the week's slots.
    values = [CanvassSession.Status.PUBLISHED, date_to, date_from, *([region] if region else []), *(codes or []),
              date_to, date_from,
              Booking.Status.WAITLISTED, Booking.Status.REDIRECTED, Booking.Source.REDIRECT, *RECEIVED_STATUSES,
              Booking.Status.CONFIRMED, *params, *([region] if region else []), *(codes or [])]
    # bench/coordinator_dashboard.py: coverage in one statement took the dashboard from 152 to 113 ms of CPU
    # (BENCHMARKS.md "Coordinators' coverage dashboard", history in git).
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    days = period_days(date_from, date_to)
    rates = seat_expected_rates(seat_ids=[row[0] for row in rows])
    result = []
    for (seat_id, name, seat_region, priority, need_per_day, n, places, confirmed, waitlisted, sent, received,
         unproven) in rows:
        need = need_for(priority=priority, need_per_day=need_per_day, days=days)
        if not n and not (every_seat and need):
            continue
        places, confirmed, unproven = int(places or 0), int(confirmed or 0), int(unproven or 0)
        proven = max(0, confirmed - unproven)
        result.append({
            "seat": seat_id, "name": name, "region": seat_region, "priority": priority,
            "slots": int(n or 0), "places": places, "confirmed": confirmed, "waitlisted": int(waitlisted or 0),
            "fill_pct": round(100.0 * confirmed / places, 1) if places else 0.0,
            "overflow_sent": int(sent or 0), "overflow_received": int(received or 0),
            # The shortfall counts the volunteers expected to come (volunteers.turnout), not the places booked.
            "need": need, "proven": proven, "unproven": unproven, "expected": round(proven * rates[seat_id]),
            "shortfall": max(0, need - round(proven * rates[seat_id])),
        })
    result.sort(key=lambda r: (-shortfall_weight(r), r["priority"], r["fill_pct"], r["seat"]))
    return result


@functools.cache
def _coverage_statement(*, region: bool, scoped: int | None, all_sets: bool = False) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    slot, session, seat, booking = (model._meta for model in (Slot, CanvassSession, Seat, Booking))
    seat_pk = quote(seat.pk.column)
    # Proven places are the slots' confirmed_count less the unproven holds, so only the few bookings that are
    # waitlisted, moved or unproven are read, not every confirmed one: 1.0 s -> see BENCHMARKS.md for 200,000
    # bookings in the week (bench/coordinator_dashboard.py).
    counted = (Booking.Status.WAITLISTED, Booking.Status.REDIRECTED, Booking.Source.REDIRECT, Booking.Status.CONFIRMED)
    in_region = f" AND se0.{quote('region')} = %s" if region else ""
    in_scope = f" AND cs.seat_id IN ({', '.join(['%s'] * scoped)})" if scoped is not None else ""
    current = f"(SELECT code FROM {quote(BoundarySet._meta.db_table)} WHERE is_current)"
    in_set = "" if all_sets else f" AND se0.boundary_set_id <= {current} AND se0.last_boundary_set_id >= {current}"
    received = ", ".join(["%s"] * len(RECEIVED_STATUSES))
    seats_where = " AND ".join(filter(None, [
        "" if all_sets else f"se.boundary_set_id <= {current} AND se.last_boundary_set_id >= {current}",
        f"se.{quote('region')} = %s" if region else "",
        f"se.{seat_pk} IN ({', '.join(['%s'] * scoped)})" if scoped is not None else ""])) or "TRUE"
    sql = f"""
        WITH s AS (
            SELECT sl.id, sl.capacity, sl.confirmed_count, cs.seat_id
            FROM {quote(slot.db_table)} sl JOIN {quote(session.db_table)} cs ON cs.id = sl.session_id
            JOIN {quote(seat.db_table)} se0 ON se0.{seat_pk} = cs.seat_id
            WHERE cs.status = %s AND sl.starts_at < %s AND sl.ends_at > %s{in_set}{in_region}{in_scope}
              AND cs.starts_at < %s AND cs.ends_at > %s
        ), b AS (
            SELECT s.seat_id,
                   SUM(CASE WHEN bk.status = %s THEN bk.party_size ELSE 0 END) AS waitlisted,
                   SUM(CASE WHEN bk.status = %s THEN bk.party_size ELSE 0 END) AS sent,
                   SUM(CASE WHEN bk.source = %s AND bk.status IN ({received}) THEN bk.party_size ELSE 0 END)
                       AS received,
                   SUM(CASE WHEN bk.status = %s AND bk.proven_at IS NULL THEN bk.party_size ELSE 0 END) AS unproven
            FROM s JOIN {quote(booking.db_table)} bk ON bk.slot_id = s.id
            WHERE bk.status IN (%s, %s) OR bk.source = %s OR (bk.status = %s AND bk.proven_at IS NULL)
            GROUP BY s.seat_id
        ), t AS (
            SELECT s.seat_id, COUNT(*) AS n, SUM(s.capacity) AS places, SUM(s.confirmed_count) AS confirmed
            FROM s GROUP BY s.seat_id
        )
        SELECT se.{seat_pk}, se.{quote("name")}, se.{quote("region")}, se.{quote("priority")},
               se.{quote("need_per_day")}, t.n, t.places, t.confirmed, b.waitlisted, b.sent, b.received,
               b.unproven
        FROM {quote(seat.db_table)} se LEFT JOIN t ON t.seat_id = se.{seat_pk} LEFT JOIN b ON b.seat_id = se.{seat_pk}
        WHERE {seats_where}"""
    return sql, counted


# ---- the dashboard's cached figures ------------------------------------------------------------------------------

_VERSION_KEY = "coverage:version"


def _cache():
    from django.core.cache import cache

    return cache


def coverage_cache_invalidate() -> None:
    """After a coordinator changes what the dashboard shows (priorities, needs, the target list, an overflow, a
    committed run): the next dashboard reads afresh. Safe to call anywhere; a cache that is down is ignored."""
    try:
        cache = _cache()
        if cache.add(_VERSION_KEY, 1, timeout=None) is False:
            cache.incr(_VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: without it every read is fresh anyway
        logger.warning("coverage cache not invalidated", exc_info=True)


def coverage_for_dashboard(*, date_from: datetime, date_to: datetime, region: str | None = None,
                           scope: SeatScope = NATIONAL, now: datetime | None = None) -> tuple[list[dict], datetime]:
    """coverage_by_seat(every_seat=True) for the dashboard, and when the figures were read. The national figures
    of a period are kept COVERAGE_CACHE_SECONDS (a coordinator's own changes read afresh: see
    coverage_cache_invalidate), then cut to the region and the caller's scope, so every organiser shares them.
    A statement over every slot and hold of the week cost 0.5-1 s on a busy machine with 100,000 sessions
    (bench/coordinator_dashboard.py); the page says how old its figures are."""
    scope.check_region(region)
    if date_to <= date_from:
        coverage_by_seat(date_from=date_from, date_to=date_to)  # raises the same error as the API
    ttl = int(getattr(settings, "COVERAGE_CACHE_SECONDS", 0))
    cached = None
    key = None
    if ttl > 0:
        try:
            cache = _cache()
            key = f"coverage:{cache.get(_VERSION_KEY) or 0}:{date_from.isoformat()}:{date_to.isoformat()}"
            cached = cache.get(key)
        except Exception:  # noqa: BLE001 - as in coverage_cache_invalidate
            logger.warning("coverage cache unavailable", exc_info=True)
            key = None
    if cached is None:
        cached = (coverage_by_seat(date_from=date_from, date_to=date_to, every_seat=True), now or timezone.now())
        if key is not None:
            try:
                _cache().set(key, cached, ttl)
            except Exception:  # noqa: BLE001
                logger.warning("coverage cache not written", exc_info=True)
    rows, read_at = cached
    return [dict(row) for row in rows if (not region or row["region"] == region) and scope.allows(row["seat"])], read_at

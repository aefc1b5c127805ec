"""Coverage per seat for a period: places, bookings, fill and overflow sent and received."""

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.models import BoundarySet, Seat
from sessions.models import CanvassSession, Slot
from volunteers.models import Booking

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


def coverage_by_seat(*, date_from: datetime, date_to: datetime, region: str | None = None,
                     all_sets: bool = False) -> list[dict]:
    """One row per seat of the current boundary set (of any set with all_sets: an old seat's page shows its
    history) with published slots in [date_from, date_to), highest priority and emptiest first. Read-only.

    One statement: the period's slots, their bookings counted per seat, and the seats' names, so the dashboard
    with 650 seats costs one round trip whatever the number of slots."""
    if date_to <= date_from:
        raise InvalidInput(gettext("date_to must be after date_from."), code="date_order",
                           fields={"date_to": [gettext("Must be after date_from.")]})
    sql, params = _coverage_statement(region=bool(region), all_sets=all_sets)
    values = [CanvassSession.Status.PUBLISHED, date_to, date_from, *([region] if region else []),
              Booking.Status.WAITLISTED, Booking.Status.REDIRECTED, Booking.Source.REDIRECT, *RECEIVED_STATUSES,
              *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    result = []
    for seat_id, name, seat_region, priority, n, places, confirmed, waitlisted, sent, received in rows:
        result.append({
            "seat": seat_id, "name": name, "region": seat_region, "priority": priority,
            "slots": n, "places": int(places), "confirmed": int(confirmed), "waitlisted": int(waitlisted),
            "fill_pct": round(100.0 * confirmed / places, 1) if places else 0.0,
            "overflow_sent": int(sent), "overflow_received": int(received),
        })
    result.sort(key=lambda r: (r["priority"], r["fill_pct"], r["seat"]))
    return result


@functools.cache
def _coverage_statement(*, region: bool, all_sets: bool = False) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    slot, session, seat, booking = (model._meta for model in (Slot, CanvassSession, Seat, Booking))
    seat_pk = quote(seat.pk.column)
    counted = (Booking.Status.WAITLISTED, Booking.Status.REDIRECTED, *RECEIVED_STATUSES)
    in_region = f" AND se0.{quote('region')} = %s" if region else ""
    current = f"(SELECT code FROM {quote(BoundarySet._meta.db_table)} WHERE is_current)"
    in_set = "" if all_sets else (f" AND se0.boundary_set_id <= {current} AND se0.last_boundary_set_id >= {current}")
    received = ", ".join(["%s"] * len(RECEIVED_STATUSES))
    sql = f"""
        WITH s AS (
            SELECT sl.id, sl.capacity, sl.confirmed_count, cs.seat_id
            FROM {quote(slot.db_table)} sl JOIN {quote(session.db_table)} cs ON cs.id = sl.session_id
            JOIN {quote(seat.db_table)} se0 ON se0.{seat_pk} = cs.seat_id
            WHERE cs.status = %s AND sl.starts_at < %s AND sl.ends_at > %s{in_set}{in_region}
        ), b AS (
            SELECT s.seat_id,
                   SUM(CASE WHEN bk.status = %s THEN 1 ELSE 0 END) AS waitlisted,
                   SUM(CASE WHEN bk.status = %s THEN 1 ELSE 0 END) AS sent,
                   SUM(CASE WHEN bk.source = %s AND bk.status IN ({received}) THEN 1 ELSE 0 END) AS received
            FROM s JOIN {quote(booking.db_table)} bk ON bk.slot_id = s.id
            WHERE bk.status IN ({", ".join(["%s"] * len(counted))})
            GROUP BY s.seat_id
        )
        SELECT se.{seat_pk}, se.{quote("name")}, se.{quote("region")}, se.{quote("priority")}, COUNT(*),
               SUM(s.capacity), SUM(s.confirmed_count), COALESCE(MAX(b.waitlisted), 0), COALESCE(MAX(b.sent), 0),
               COALESCE(MAX(b.received), 0)
        FROM s JOIN {quote(seat.db_table)} se ON se.{seat_pk} = s.seat_id LEFT JOIN b ON b.seat_id = s.seat_id
        GROUP BY se.{seat_pk}, se.{quote("name")}, se.{quote("region")}, se.{quote("priority")}"""
    return sql, counted

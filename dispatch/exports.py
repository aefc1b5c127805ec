"""Coordinators' CSV exports from dispatch (docs/exports.md): coverage per seat, and SMS failures (notify.sms.exports)."""

from collections.abc import Iterator
from datetime import datetime

from core.exports import Export
from dispatch.services.coverage import coverage_by_seat
from notify.sms.exports import SMS_FAILURES, sms_failures_export_rows, sms_failures_query  # noqa: F401
from seats.scopes import NATIONAL, SeatScope

COVERAGE = Export("coverage", "coverage-{date_from}-{date_to}.csv", (
    ("seat", "The constituency (ONS code)."),
    ("name", "Its name."),
    ("region", "Its region."),
    ("priority", "Its priority (1 first)."),
    ("slots", "Published slots in the period."),
    ("places", "Their places."),
    ("confirmed", "Places taken."),
    ("fill_pct", "confirmed / places, in %."),
    ("waitlisted", "Bookings on a waitlist."),
    ("overflow_sent", "Volunteers redirected from this seat's full slots."),
    ("overflow_received", "Volunteers redirected here who kept the place."),
))



def coverage_export_rows(*, date_from: datetime, date_to: datetime, region: str | None = None,
                         scope: SeatScope = NATIONAL) -> Iterator[tuple]:
    """One row per seat in the caller's scope, as the coverage API (at most one per constituency: no cursor
    needed). No personal data. Raises InvalidInput before the first row for a bad period."""
    rows = coverage_by_seat(date_from=date_from, date_to=date_to, region=region, scope=scope)
    return (tuple(row[name] for name in COVERAGE.header) for row in rows)

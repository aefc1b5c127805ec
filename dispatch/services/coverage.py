"""Coverage per seat for a period: places, bookings, fill and overflow sent and received."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.models import Seat
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


def coverage_by_seat(*, date_from: datetime, date_to: datetime, region: str | None = None) -> list[dict]:
    """One row per seat with published slots in [date_from, date_to), highest priority and emptiest first. Read-only."""
    if date_to <= date_from:
        raise InvalidInput(gettext("date_to must be after date_from."), fields={"date_to": [gettext("Must be after date_from.")]})
    slots = Slot.objects.filter(session__status=CanvassSession.Status.PUBLISHED, starts_at__lt=date_to,
                                ends_at__gt=date_from)
    if region:
        slots = slots.filter(session__seat__region=region)
    rows: dict[str, dict] = {}
    for seat_id, n, places, confirmed in (slots.values_list("session__seat_id").order_by()
                                          .annotate(n=Count("id"), places=Sum("capacity"), confirmed=Sum("confirmed_count"))):
        rows[seat_id] = {"slots": n, "places": places, "confirmed": confirmed}
    bookings = Booking.objects.filter(slot__in=slots)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for label, query in (
        ("waitlisted", bookings.filter(status=Booking.Status.WAITLISTED)),
        ("overflow_sent", bookings.filter(status=Booking.Status.REDIRECTED)),
        ("overflow_received", bookings.filter(source=Booking.Source.REDIRECT, status__in=RECEIVED_STATUSES)),
    ):
        for seat_id, n in query.values_list("slot__session__seat_id").order_by().annotate(n=Count("id")):
            counts[seat_id][label] = n
    seats = {s.pk: s for s in Seat.objects.filter(pk__in=list(rows)).only("pk", "name", "priority", "region")}
    result = []
    for seat_id, row in rows.items():
        seat = seats[seat_id]
        result.append({
            "seat": seat_id, "name": seat.name, "region": seat.region, "priority": seat.priority, **row,
            "waitlisted": counts[seat_id]["waitlisted"],
            "fill_pct": round(100.0 * row["confirmed"] / row["places"], 1) if row["places"] else 0.0,
            "overflow_sent": counts[seat_id]["overflow_sent"],
            "overflow_received": counts[seat_id]["overflow_received"],
        })
    result.sort(key=lambda r: (r["priority"], r["fill_pct"], r["seat"]))
    return result

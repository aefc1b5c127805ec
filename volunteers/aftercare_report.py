"""What coordinators read after the knock (docs/after-the-session.md): per seat and day, the bookings, who came, the
self check-ins, the hosts' reports and the volunteers' ratings; and today's check-ins per seat as they happen. Every
read takes the coordinator's SeatScope (seats.scopes) and keeps to its seats."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Avg, Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from core.exports import Export
from seats.models import Seat
from seats.scopes import SeatScope
from sessions.models import Slot
from volunteers.models import Booking, BookingEvent, SessionReport
from volunteers.turnout import expected_turnout

HELD_THEN = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)
NOTE_SHOWN = 300


@dataclass
class DayRow:
    seat: str
    seat_name: str
    day: date
    booked: int = 0
    attended: int = 0
    self_checked_in: int = 0
    no_show: int = 0
    doors: int = 0
    conversations: int = 0
    reports: int = 0
    ratings: int = 0
    rating_avg: float | None = None
    again: int = 0
    notes: list = field(default_factory=list)  # (session title, note)



def _people(where: Q | None = None) -> Coalesce:
    return Coalesce(Sum("party_size", filter=where), 0)

def _self_check_in():
    return Exists(BookingEvent.objects.filter(booking=OuterRef("pk"), kind=BookingEvent.Kind.ATTENDED,
                                              version=OuterRef("version"), payload__self_check_in=True))


def after_report(*, scope: SeatScope, date_from: date, date_to: date, seat: str | None = None) -> list[DayRow]:
    """One row per seat and local day with slots from `date_from` to `date_to` (inclusive), newest day first. Places
    are proven bookings held when the slot ran. Three grouped statements."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(date_from, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), datetime.min.time()))
    bookings = scope.filter(Booking.objects.filter(slot__starts_at__gte=start, slot__starts_at__lt=end,
                                                   status__in=HELD_THEN, proven_at__isnull=False),
                            "slot__session__seat_id")
    reports = scope.filter(SessionReport.objects.filter(session__starts_at__gte=start, session__starts_at__lt=end),
                           "session__seat_id")
    if seat:
        bookings = bookings.filter(slot__session__seat_id=seat)
        reports = reports.filter(session__seat_id=seat)
    rows: dict[tuple[str, date], DayRow] = {}

    def row(seat_id: str, day: date) -> DayRow:
        if (seat_id, day) not in rows:
            rows[(seat_id, day)] = DayRow(seat=seat_id, seat_name="", day=day)
        return rows[(seat_id, day)]

    counted = (bookings.annotate(day=TruncDate("slot__starts_at", tzinfo=tz), self_in=_self_check_in())
               .values("slot__session__seat_id", "day")
               # People, not bookings: a party counts each of its places (ratings and "again" are the bookers').
               .annotate(booked=_people(), attended=_people(Q(status=Booking.Status.ATTENDED)),
                         no_show=_people(Q(status=Booking.Status.NO_SHOW)),
                         self_in_n=_people(Q(self_in=True, status=Booking.Status.ATTENDED)),
                         ratings=Count("feedback__rating"), rating_avg=Avg("feedback__rating"),
                         again=Count("pk", filter=Q(feedback__again=True))))
    for item in counted:
        target = row(item["slot__session__seat_id"], item["day"])
        target.booked, target.attended, target.no_show = item["booked"], item["attended"], item["no_show"]
        target.self_checked_in, target.ratings, target.again = item["self_in_n"], item["ratings"], item["again"]
        target.rating_avg = round(item["rating_avg"], 1) if item["rating_avg"] is not None else None
    for report in (reports.annotate(day=TruncDate("session__starts_at", tzinfo=tz))
                   .values("session__seat_id", "day", "doors", "conversations", "note", "session__title")):
        target = row(report["session__seat_id"], report["day"])
        target.doors += report["doors"]
        target.conversations += report["conversations"]
        target.reports += 1
        if report["note"]:
            target.notes.append((report["session__title"], report["note"][:NOTE_SHOWN]))
    names = dict(Seat.objects.filter(pk__in={key[0] for key in rows}).values_list("pk", "name"))
    for item in rows.values():
        item.seat_name = names.get(item.seat, item.seat)
    return sorted(rows.values(), key=lambda item: (-item.day.toordinal(), item.seat_name))


def seat_after_totals(*, seat: str, since: date | None = None) -> DayRow:
    """A seat's totals over its report rows (all time, or since a day): for the seat page."""
    from seats.scopes import NATIONAL

    total = DayRow(seat=seat, seat_name="", day=since or date.min)
    ratings_sum = 0.0
    for item in after_report(scope=NATIONAL, date_from=since or date(2000, 1, 1), date_to=timezone.localdate(),
                             seat=seat):
        for name in ("booked", "attended", "self_checked_in", "no_show", "doors", "conversations", "reports",
                     "ratings", "again"):
            setattr(total, name, getattr(total, name) + getattr(item, name))
        ratings_sum += (item.rating_avg or 0) * item.ratings
    total.rating_avg = round(ratings_sum / total.ratings, 1) if total.ratings else None
    return total


@dataclass
class LiveRow:
    seat: str
    seat_name: str
    slots: int
    booked: int
    expected: int
    checked_in: int
    last_check_in: datetime | None


def live_turnout(*, scope: SeatScope, day: date | None = None) -> list[LiveRow]:
    """Today's (or `day`'s) slots per seat: proven places booked, expected turnout, check-ins so far (marked by the
    host or by the volunteer) and the latest one; the seats with slots that day only."""
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    slots = scope.filter(Slot.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1)),
                         "session__seat_id")
    per_slot = {pk: seat for pk, seat in slots.values_list("pk", "session__seat_id")}
    expected = expected_turnout(slot_ids=list(per_slot))
    arrivals = (Booking.objects.filter(slot_id__in=list(per_slot), status=Booking.Status.ATTENDED)
                .values("slot__session__seat_id")
                .annotate(n=Count("pk", distinct=True), last=Max("events__created_at",
                                                  filter=Q(events__kind=BookingEvent.Kind.ATTENDED))))
    seen = {item["slot__session__seat_id"]: (item["n"], item["last"]) for item in arrivals}
    totals = defaultdict(lambda: [0, 0, 0])
    for pk, seat in per_slot.items():
        totals[seat][0] += 1
        totals[seat][1] += expected[pk].booked
        totals[seat][2] += expected[pk].expected
    names = dict(Seat.objects.filter(pk__in=set(totals)).values_list("pk", "name"))
    return sorted((LiveRow(seat=seat, seat_name=names.get(seat, seat), slots=values[0], booked=values[1],
                           expected=values[2], checked_in=seen.get(seat, (0, None))[0],
                           last_check_in=seen.get(seat, (0, None))[1])
                   for seat, values in totals.items()), key=lambda item: item.seat_name)


AFTER = Export("after", "after-the-session-{date_from}-{date_to}.csv", (
    ("seat", "The seat's ONS code."),
    ("seat_name", "The seat's name."),
    ("day", "The local day of the slots (YYYY-MM-DD)."),
    ("booked", "Proven places held when the slots ran (confirmed, attended or no-show)."),
    ("attended", "Of those, marked as arrived by the host or checked in by the volunteer."),
    ("self_checked_in", "Of the attended, those who checked themselves in with the host's code."),
    ("no_show", "Marked as not coming by the host."),
    ("doors", "Doors knocked, from the hosts' reports."),
    ("conversations", "Conversations, from the hosts' reports."),
    ("reports", "How many sessions' hosts filed a report."),
    ("ratings", "How many volunteers rated their slot."),
    ("rating_avg", "Their average rating, 1 to 5 (empty without ratings)."),
    ("would_come_again", "Volunteers who said they would come again."),
    ("notes", "The hosts' notes for the organiser, each after its session's title, separated by |."),
))


def report_csv_rows(rows: list[DayRow]):
    """The rows of the coordinators' after-the-session CSV (AFTER's columns)."""
    for item in rows:
        yield [item.seat, item.seat_name, item.day, item.booked, item.attended, item.self_checked_in,
               item.no_show, item.doors, item.conversations, item.reports, item.ratings, item.rating_avg, item.again,
               " | ".join(f"{title}: {note}" for title, note in item.notes)]

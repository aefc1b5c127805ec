"""Reads of bookings for the people who run a session."""

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When

from core.db import instances_from_related_row, related_select
from core.languages import language_supported
from sessions.models import Slot
from sessions.selectors import session_managed
from volunteers.models import Booking, BookingEvent, PhoneChallenge
from volunteers.privacy import Access, personal_data_accessed_record

# Who is coming first, then the waitlist in its order, then those who are not coming any more.
_ROSTER_ORDER = Case(
    When(status__in=(Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW), then=Value(0)),
    When(status=Booking.Status.WAITLISTED, then=Value(1)),
    default=Value(2), output_field=IntegerField(),
)


@dataclass(frozen=True)
class RosterPerson:
    """Who a booking is, as its session's host (or a coordinator) sees it."""

    name: str
    phone: str
    email: str
    proven: bool
    erased: bool


def roster_person_of(*, proven_at: datetime | None, said_name: str, name: str, phone: str, email: str,
                     erased_at: datetime | None) -> RosterPerson:
    """The rule, from columns (the CSV reads columns): until the booking's phone is proven, only the first name
    its request typed (Booking.said_name), no number and no email. The phone's stored volunteer may be somebody
    else, whose number a host typed into their own session's form: nothing stored about a phone reaches a host
    through a booking that phone has not proven. Once proven, the volunteer's details, as the proof applied them."""
    if erased_at is not None:
        return RosterPerson(name="", phone="", email="", proven=proven_at is not None, erased=True)
    if proven_at is None:
        return RosterPerson(name=said_name, phone="", email="", proven=False, erased=False)
    return RosterPerson(name=name, phone=phone, email=email, proven=True, erased=False)


def roster_person(booking: Booking) -> RosterPerson:
    volunteer = booking.volunteer
    return roster_person_of(proven_at=booking.proven_at, said_name=booking.said_name, name=volunteer.name,
                            phone=volunteer.phone, email=volunteer.email, erased_at=volunteer.anonymised_at)


def session_roster(*, user, session_id: int, statuses: list[str] | None = None) -> QuerySet[Booking]:
    """A session's bookings for its host or a coordinator: slot by slot, those coming first, then the waitlist.
    Show each person through roster_person (an unproven booking is only its typed first name)."""
    session = session_managed(user=user, session_id=session_id)
    bookings = Booking.objects.filter(slot__session=session).select_related("volunteer", "slot")
    if session.meeting_point.host_id != user.pk:  # a coordinator reading another's roster: audited
        personal_data_accessed_record(actor=user, action=Access.ROSTER_READ, session=session.pk,
                                      volunteer_ids=set(bookings.values_list("volunteer_id", flat=True)))
    if statuses:
        bookings = bookings.filter(status__in=statuses)
    return bookings.order_by("slot__starts_at", "slot_id", _ROSTER_ORDER, "waitlisted_at", "created_at", "id")


def booking_clash(*, booking: Booking) -> Booking | None:
    """For a proven, confirmed place: another proven, confirmed place of the same phone at an overlapping time,
    with its slot and session (the first by start), else None. A booking request never looks at the phone's
    other bookings (volunteers.services.booking_hold: its answer must not tell where the phone's owner will be),
    so a clash is settled here, by the prover: their page says so and offers to cancel either. Unproven holds
    never count: one may be a stranger's decoy, and it is released in time."""
    if booking.proven_at is None or booking.status != Booking.Status.CONFIRMED:
        return None
    slot = booking.slot
    sql, plan = _clash_statement()
    when = connection.ops.adapt_datetimefield_value  # as the ORM writes them (SQLite compares text)
    # bench/request_cpu.py: built once instead of select_related().order_by().first(), whose compilation was 1.5-2 ms
    # of CPU a proof (BENCHMARKS.md "Safety checks").
    with connection.cursor() as cursor:
        cursor.execute(sql, [booking.volunteer_id, Booking.Status.CONFIRMED, when(slot.ends_at), when(slot.starts_at),
                             booking.pk])
        row = cursor.fetchone()
    return None if row is None else instances_from_related_row(plan, row)


def booking_waitlist_position(*, booking: Booking) -> int | None:
    """A waitlisted booking's place in its slot's queue (1 = next), by waitlisted_at then id; None otherwise."""
    if booking.status != Booking.Status.WAITLISTED or booking.waitlisted_at is None:
        return None
    # Every answer to a waitlisted request and its proof counts this. Through the ORM (filter, exclude, count) its
    # compilation was a fifth of a waitlisted proof's CPU, before and after issue 20 (bench/proof_cases.py
    # full_proof, BENCHMARKS.md "Safety checks ... (issue 20)"): the statement is written out instead.
    when = connection.ops.adapt_datetimefield_value(booking.waitlisted_at)  # as the ORM writes it (SQLite: text)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COUNT(*) FROM {Booking._meta.db_table} WHERE slot_id = %s AND status = %s
                AND (waitlisted_at < %s OR (waitlisted_at = %s AND id <= %s))""",
            [booking.slot_id, Booking.Status.WAITLISTED, when, when, booking.pk])
        return cursor.fetchone()[0]


@functools.cache
def _clash_statement() -> tuple[str, tuple]:
    # Every proof's answer asks this (BookingSerializer.get_clash). Built by the ORM (select_related, order_by,
    # first) its compilation cost 1.5-2 ms of CPU per proof, a third of a proof before issue 20; the same
    # statement built once costs a few tenths (BENCHMARKS.md, "Safety checks: the cost to a booking and a proof").
    quote = connection.ops.quote_name
    select, plan = related_select(Booking, ("slot__session",))  # t0 the booking, t1 its slot, t2 the session
    column = Booking._meta.get_field
    slot_column = Slot._meta.get_field
    sql = (f"{select} WHERE t0.{quote(column('volunteer').column)} = %s AND t0.{quote(column('status').column)} = %s"
           f" AND t0.{quote(column('proven_at').column)} IS NOT NULL"
           f" AND t1.{quote(slot_column('starts_at').column)} < %s AND t1.{quote(slot_column('ends_at').column)} > %s"
           f" AND t0.{quote(column('id').column)} <> %s"
           f" ORDER BY t1.{quote(slot_column('starts_at').column)}, t0.{quote(column('id').column)} LIMIT 1")
    return sql, plan


PLACE_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)


@dataclass(frozen=True)
class Places:
    """Places taken on a slot (or a session), counted apart: by a proven phone, and held by a request whose phone
    is not proven yet (perhaps a stranger's number; released in time if nobody proves it)."""

    proven: int = 0
    unproven: int = 0


def places_by_slot(*, slot_ids) -> dict[int, Places]:
    """Places of each slot, proven and unproven apart, in one query (slots with none are left out)."""
    rows = (Booking.objects.filter(slot_id__in=list(slot_ids), status__in=PLACE_STATUSES).values("slot_id")
            .annotate(proven=Sum("party_size", filter=Q(proven_at__isnull=False), default=0),
                      unproven=Sum("party_size", filter=Q(proven_at__isnull=True), default=0)).order_by())
    return {row["slot_id"]: Places(proven=row["proven"], unproven=row["unproven"]) for row in rows}


def places_total(places) -> Places:
    places = list(places)
    return Places(proven=sum(p.proven for p in places), unproven=sum(p.unproven for p in places))


def volunteer_language(*, phone: str) -> str:
    """The language a phone last used with us: that of its latest booking or code request (core.languages), for
    texts that answer the phone rather than a booking (replies) and for bookings nobody asked for (assignments)."""
    booked = Booking.objects.filter(volunteer__phone=phone).order_by("-created_at", "-id").values_list(
        "language", "created_at").first()
    asked = PhoneChallenge.objects.filter(phone=phone).order_by("-created_at", "-id").values_list(
        "language", "created_at").first()
    latest = max((row for row in (booked, asked) if row), key=lambda row: row[1], default=None)
    return language_supported(latest[0] if latest else None)


def volunteer_languages(*, volunteer_ids) -> dict[int, str]:
    """Each volunteer's language as their latest code request gave it (a sign-up's or a booking's), in one query."""
    from django.db.models import OuterRef, Subquery

    from volunteers.models import Volunteer

    latest = PhoneChallenge.objects.filter(volunteer=OuterRef("pk")).order_by("-created_at", "-id").values("language")
    return {pk: language_supported(language) for pk, language in Volunteer.objects.filter(
        pk__in=list(volunteer_ids)).annotate(language=Subquery(latest[:1])).values_list("pk", "language")}


@dataclass(frozen=True)
class BookingCounts:
    """A slot's (or a session's) bookings as its host counts them: booked (a place held by a proven phone and not
    waiting for the host's answer), pending (a place held by a phone not proven yet, or waiting for the host's
    answer) and waiting (on the waitlist)."""

    booked: int = 0
    pending: int = 0
    waiting: int = 0

    @property
    def active(self) -> int:
        return self.booked + self.pending + self.waiting

    def __add__(self, other: "BookingCounts") -> "BookingCounts":
        return BookingCounts(self.booked + other.booked, self.pending + other.pending, self.waiting + other.waiting)


_HELD = (*PLACE_STATUSES, Booking.Status.PENDING)
_SURE = Q(proven_at__isnull=False) & ~Q(approval=Booking.Approval.PENDING)


def booking_counts_by_slot(*, slot_ids) -> dict[int, BookingCounts]:
    """Booked, pending and waiting places on each slot (a party counts its people), in one query (slots with none
    are left out)."""
    rows = (Booking.objects.filter(slot_id__in=list(slot_ids), status__in=(*_HELD, Booking.Status.WAITLISTED))
            .values("slot_id")
            .annotate(booked=Sum("party_size", filter=Q(status__in=PLACE_STATUSES) & _SURE, default=0),
                      pending=Sum("party_size", filter=Q(status__in=_HELD) & ~(Q(status__in=PLACE_STATUSES) & _SURE),
                                  default=0),
                      waiting=Sum("party_size", filter=Q(status=Booking.Status.WAITLISTED), default=0)).order_by())
    return {row["slot_id"]: BookingCounts(row["booked"], row["pending"], row["waiting"]) for row in rows}


@dataclass(frozen=True)
class PhoneBookings:
    """A phone's own list of its bookings (/my/): those still to come (by start), then the past (newest first)."""

    upcoming: list[Booking]
    past: list[Booking]


def phone_bookings(*, volunteer_id: int, now: datetime | None = None) -> PhoneBookings:
    """Every booking of the volunteer, for whoever proved their phone (a texted code or a device remembered for
    it), with slot, session, meeting point and seat; show each front room through front_room_disclose."""
    from django.utils import timezone

    now = now or timezone.now()
    bookings = list(Booking.objects.filter(volunteer_id=volunteer_id)
                    .select_related("volunteer", "slot__session__meeting_point", "slot__session__seat")
                    .order_by("slot__starts_at", "pk"))
    upcoming = [booking for booking in bookings if booking.slot.ends_at > now]
    past = [booking for booking in reversed(bookings) if booking.slot.ends_at <= now]
    return PhoneBookings(upcoming=upcoming, past=past)


ENDING_KINDS = (BookingEvent.Kind.CANCELLED, BookingEvent.Kind.SESSION_CANCELLED, BookingEvent.Kind.RELEASED,
                BookingEvent.Kind.REFUSED, BookingEvent.Kind.OFFER_LAPSED, BookingEvent.Kind.UNCONFIRMED)


def booking_ending_kind(*, booking: Booking) -> str | None:
    """Why a cancelled booking ended: the kind of the event that cancelled it (cancelled by the volunteer, the
    session cancelled, released unproven, refused by the host), None for a booking still going."""
    if booking.status != Booking.Status.CANCELLED:
        return None
    return (BookingEvent.objects.filter(booking=booking, kind__in=ENDING_KINDS, version=booking.version)
            .order_by("-id").values_list("kind", flat=True).first())


def bookings_ending_kinds(*, bookings) -> dict[int, str]:
    """booking_ending_kind for many bookings in one statement: {booking id: kind} for the cancelled ones."""
    ended = {booking.pk: booking.version for booking in bookings if booking.status == Booking.Status.CANCELLED}
    kinds: dict[int, str] = {}
    rows = (BookingEvent.objects.filter(booking_id__in=ended, kind__in=ENDING_KINDS).order_by("id")
            .values_list("booking_id", "version", "kind"))
    for booking_id, version, kind in rows:
        if version == ended[booking_id]:
            kinds[booking_id] = kind  # the latest wins, as booking_ending_kind's "-id"
    return kinds

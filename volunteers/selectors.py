"""Reads of bookings for the people who run a session."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from sessions.selectors import session_managed
from volunteers.models import Booking, BookingEvent
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
    return (Booking.objects.filter(volunteer_id=booking.volunteer_id, status=Booking.Status.CONFIRMED,
                                   proven_at__isnull=False, slot__starts_at__lt=slot.ends_at,
                                   slot__ends_at__gt=slot.starts_at)
            .exclude(pk=booking.pk).select_related("slot__session").order_by("slot__starts_at", "pk").first())


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
            .annotate(proven=Count("pk", filter=Q(proven_at__isnull=False)),
                      unproven=Count("pk", filter=Q(proven_at__isnull=True))).order_by())
    return {row["slot_id"]: Places(proven=row["proven"], unproven=row["unproven"]) for row in rows}


def places_total(places) -> Places:
    places = list(places)
    return Places(proven=sum(p.proven for p in places), unproven=sum(p.unproven for p in places))


ENDING_KINDS = (BookingEvent.Kind.CANCELLED, BookingEvent.Kind.SESSION_CANCELLED, BookingEvent.Kind.RELEASED,
                BookingEvent.Kind.REFUSED)


def booking_ending_kind(*, booking: Booking) -> str | None:
    """Why a cancelled booking ended: the kind of the event that cancelled it (cancelled by the volunteer, the
    session cancelled, released unproven, refused by the host), None for a booking still going."""
    if booking.status != Booking.Status.CANCELLED:
        return None
    return (BookingEvent.objects.filter(booking=booking, kind__in=ENDING_KINDS, version=booking.version)
            .order_by("-id").values_list("kind", flat=True).first())

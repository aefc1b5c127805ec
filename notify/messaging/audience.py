"""Who a message to everyone booked reaches: the proven volunteers holding a place (confirmed or attended) on the
audience's sessions, each once, with the consent columns notify.consent's gate reads and the language of the
booking that put them there (their message is in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from django.db.models import Q
from django.utils.translation import gettext

from core.errors import InvalidInput, NotFound
from seats.models import Seat
from seats.scopes import seat_scope_for
from sessions.models import CanvassSession
from sessions.selectors import session_managed
from volunteers.models import Booking

# A place held by a proven phone: the volunteers a host may write to (never an unproven hold: the number may be
# a stranger's).
PLACED = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED)


@dataclass(frozen=True)
class Audience:
    """One session (`session`), or a day narrowed to a seat or a region (or neither: everyone booked that day)."""

    session: CanvassSession | None = None
    day: date | None = None
    seat: Seat | None = None
    region: str = ""
    seat_codes: frozenset[str] | None = None  # a regional organiser's "all my seats"
    drivers: bool = False  # only the volunteers offering a lift that day (travel: their place's open offer)

    def bookings(self):
        query = Booking.objects.filter(status__in=PLACED, proven_at__isnull=False,
                                       volunteer__anonymised_at__isnull=True)
        if self.session is not None:
            return query.filter(slot__session=self.session)
        query = query.filter(slot__starts_at__date=self.day, slot__session__cancelled_at__isnull=True)
        if self.seat is not None:
            query = query.filter(slot__session__seat=self.seat)
        if self.region:
            query = query.filter(slot__session__seat__region=self.region)
        if self.seat_codes is not None:
            query = query.filter(slot__session__seat_id__in=sorted(self.seat_codes))
        if self.drivers:
            query = query.filter(lift_offers__status="open").distinct()
        return query

    def describe(self) -> str:
        if self.session is not None:
            return self.session.title
        where = self.seat.name if self.seat else (self.region or (
            gettext("all my seats") if self.seat_codes is not None else gettext("everywhere")))
        drivers = gettext("drivers offering lifts, ") if self.drivers else ""
        return f"{drivers}{where}, {self.day:%Y-%m-%d}"


class Recipient(NamedTuple):
    """The volunteer columns notify.consent.may_send reads, and the language to write to them in."""

    id: int
    phone: str
    email: str
    consent_sms: bool
    sms_opted_out: bool
    phone_invalid: bool
    consent_email: bool
    email_opted_out_at: object
    consent_campaign: bool
    language: str
    anonymised_at: object = None


def recipients(audience: Audience) -> list[Recipient]:
    """Each volunteer of the audience once (their earliest booking's language), in volunteer order."""
    seen: dict[int, Recipient] = {}
    rows = audience.bookings().order_by("volunteer_id", "slot__starts_at", "id").values_list(
        "volunteer_id", "volunteer__phone", "volunteer__email", "volunteer__consent_sms", "volunteer__sms_opted_out",
        "volunteer__phone_invalid", "volunteer__consent_email", "volunteer__email_opted_out_at",
        "volunteer__consent_campaign", "language")
    for row in rows.iterator(chunk_size=5000):
        if row[0] not in seen:
            seen[row[0]] = Recipient(*row)
    return list(seen.values())


def audience_for_host(*, user, session_id) -> Audience:
    """A session its host (or a coordinator in scope) manages; NotFound otherwise (ids of others' not confirmed)."""
    session = session_managed(user=user, session_id=session_id)
    if session.cancelled_at is not None:
        raise NotFound(gettext("No such session."), code="not_found")
    return Audience(session=session)


def audience_for_coordinator(*, user, day: date | None, seat_code: str = "", region: str = "",
                             drivers: bool = False) -> Audience:
    """Everyone booked on `day`, in a seat or a region or everywhere (a regional organiser: everywhere in their
    scope). InvalidInput naming the field, NotFound/PermissionDenied for a seat or region out of scope."""
    if day is None:
        raise InvalidInput(gettext("Choose a day."), code="invalid", fields={"day": [gettext("Choose a day.")]})
    if seat_code and region:
        raise InvalidInput(gettext("Choose a seat or a region, not both."), code="invalid",
                           fields={"region": [gettext("Choose a seat or a region, not both.")]})
    scope = seat_scope_for(user)
    seat = None
    if seat_code:
        scope.check_seat(seat_code)
        seat = Seat.objects.filter(pk=seat_code.strip().upper()).first()
        if seat is None:
            raise NotFound(gettext("No such seat."), code="not_found", fields={"seat": [gettext("Unknown seat.")]})
    elif region:
        scope.check_region(region)
        if not Seat.objects.filter(Q(region=region)).exists():
            raise InvalidInput(gettext("No such region."), code="invalid", fields={"region": [gettext("Unknown region.")]})
    elif not scope.national:
        return Audience(day=day, seat_codes=scope.seat_codes, drivers=drivers)
    return Audience(day=day, seat=seat, region=region, drivers=drivers)

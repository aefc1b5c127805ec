"""What each person may see of lifts: a list of offers to a slot by district, time and seats left (anyone booked on
it, or looking at it); each side's first name and the pickup point only once the driver accepted, recorded in the
lift ledger (travel.models.LiftDisclosure)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from core.geo import haversine_km
from seats.postcodes import outcode_of
from travel.models import LiftDisclosure, LiftOffer, LiftRequest, seats_taken_sum
from travel.services import lift_disclosure_record
from volunteers.models import Booking


@dataclass(frozen=True)
class ListedOffer:
    token: str
    district: str
    departs_at: datetime
    seats_left: int
    woman_driver: bool
    distance_km: float | None


def offers_listed(*, slot_id: int, near: tuple[float, float] | None = None, woman_only: bool = False,
                  invite_token: str = "", not_volunteer_id: int | None = None, seats_needed: int = 1,
                  limit: int = 10) -> list[ListedOffer]:
    """Open offers to a slot with `seats_needed` seats left (an asker's party), nearest the point first: invite-only
    ones only with their invite."""
    offers = (LiftOffer.objects.filter(slot_id=slot_id, status=LiftOffer.Status.OPEN)
              .filter(Q(invite_only=False) | Q(invite_token=invite_token or "-"))
              .annotate(taken=seats_taken_sum()))
    if woman_only:
        offers = offers.filter(woman_driver=True)
    if not_volunteer_id is not None:
        offers = offers.exclude(booking__volunteer_id=not_volunteer_id)
    listed = [ListedOffer(token=offer.token, district=offer.pickup_district, departs_at=offer.departs_at,
                          seats_left=offer.seats - offer.taken, woman_driver=offer.woman_driver,
                          distance_km=None if near is None else round(
                              haversine_km(near[0], near[1], offer.pickup_lat, offer.pickup_lng), 1))
              for offer in offers if offer.seats - offer.taken >= max(1, seats_needed)]
    listed.sort(key=lambda offer: (offer.distance_km if offer.distance_km is not None else 0, offer.departs_at))
    return listed[:limit]


def lift_counts(slot_ids: list[int]) -> dict[int, int]:
    """Per slot, how many open lifts (not invite-only) have a seat left: what a public session page may say."""
    rows = (LiftOffer.objects.filter(slot_id__in=slot_ids, status=LiftOffer.Status.OPEN, invite_only=False)
            .annotate(taken=seats_taken_sum())
            .values_list("slot_id", "seats", "taken"))
    counts: dict[int, int] = {}
    for slot_id, seats, taken in rows:
        if seats > taken:
            counts[slot_id] = counts.get(slot_id, 0) + 1
    return counts


@dataclass
class RequestShown:
    token: str
    status: str
    district: str  # the rider's home district: all a driver sees before accepting
    first_name: str = ""  # once accepted


@dataclass
class LiftOfBooking:
    """A booking's lift, as its own page shows it: as driver (the offer and its requests) or as rider."""

    offer: LiftOffer | None = None
    requests: list[RequestShown] = field(default_factory=list)
    seats_left: int = 0
    request: LiftRequest | None = None  # as rider: the latest request
    driver_first_name: str = ""  # as rider, once accepted
    pickup: LiftOffer | None = None  # as rider, once accepted: the offer whose pickup point may show


def _first_name(booking: Booking) -> str:
    parts = (booking.volunteer.name or "").split()
    return parts[0] if parts else ""


def lift_of_booking(*, booking: Booking, path: str, automatic: bool = False) -> LiftOfBooking:
    """What `booking`'s private page shows of lifts. `automatic` (a link preview or scanner): no names, no pickup
    point, nothing recorded. Each name or pickup point shown is written to the ledger under `path`."""
    seen = LiftOfBooking()
    offer = (LiftOffer.objects.filter(booking=booking, status=LiftOffer.Status.OPEN).first())
    if offer is not None:
        seen.offer = offer
        requests = list(offer.requests.filter(status__in=LiftRequest.ACTIVE).select_related("booking__volunteer")
                        .order_by("created_at"))
        seen.seats_left = offer.seats - sum(r.booking.party_size for r in requests
                                                 if r.status == LiftRequest.Status.ACCEPTED)
        for request in requests:
            accepted = request.status == LiftRequest.Status.ACCEPTED and not automatic
            seen.requests.append(RequestShown(
                token=request.token, status=request.status,
                district=outcode_of(request.booking.volunteer.postcode or "") or "",
                first_name=_first_name(request.booking) if accepted else ""))
            if accepted:
                lift_disclosure_record(request=request, volunteer_id=booking.volunteer_id,
                                       shown=LiftDisclosure.Shown.RIDER, path=path)
        return seen
    request = (LiftRequest.objects.filter(booking=booking).select_related("offer__booking__volunteer")
               .order_by("-created_at").first())
    seen.request = request
    if request is not None and request.status == LiftRequest.Status.ACCEPTED and not automatic:
        seen.driver_first_name = _first_name(request.offer.booking)
        seen.pickup = request.offer
        lift_disclosure_record(request=request, volunteer_id=booking.volunteer_id,
                               shown=LiftDisclosure.Shown.PICKUP, path=path)
    return seen


@dataclass
class SeatLifts:
    seat_code: str
    seat_name: str
    offers: int = 0
    seats: int = 0
    taken: int = 0
    waiting: int = 0
    by_lift: int = 0  # places that arrive by lift: riders accepted, and their drivers

    @property
    def seats_left(self) -> int:
        return self.seats - self.taken


def lifts_on_day(*, day, seat_filter: Q | None = None) -> tuple[list[SeatLifts], list[LiftOffer]]:
    """Coordinators' view of a day's lifts, per seat (most arriving by lift first), and the open offers themselves
    (for blocking a driver or rider). `seat_filter`: a Q on the seat's code (an organiser's scope)."""
    offers = (LiftOffer.objects.filter(status=LiftOffer.Status.OPEN, slot__starts_at__date=day)
              .filter(seat_filter or Q())
              .select_related("slot__session__seat", "booking__volunteer")
              .annotate(taken=seats_taken_sum(),
                        waiting=Count("requests", filter=Q(requests__status=LiftRequest.Status.REQUESTED)))
              .order_by("slot__starts_at", "departs_at"))
    seats: dict[str, SeatLifts] = {}
    for offer in offers:
        seat = offer.slot.session.seat
        row = seats.setdefault(seat.pk, SeatLifts(seat_code=seat.pk, seat_name=seat.name))
        row.offers += 1
        row.seats += offer.seats
        row.taken += offer.taken
        row.waiting += offer.waiting
        row.by_lift += offer.taken + (1 if offer.taken else 0)
    return sorted(seats.values(), key=lambda row: (-row.by_lift, row.seat_name)), list(offers)

"""Offering, asking for, answering and ending lifts. Everything a lift does is done through a booking's private
link (its manage token): whoever holds it holds the phone the link was texted to.

Safety (docs/travel.md): a pickup point is a public place at a postcode's or district's public centroid, never a
home; before a driver accepts, each side sees only the other's district; phone numbers are never shown (texts
relay); every act counts against the same per-phone limits as bookings; a blocked volunteer can do none of it.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import Conflict, InvalidInput, InvalidState, NotFound, PermissionDenied
from core.ratelimit import rate_limit
from seats.geocoding import postcode_locate
from travel import events
from travel.events import lift_changed
from travel.models import LiftBlock, LiftDisclosure, LiftOffer, LiftRequest, seats_taken_sum
from travel.pickup import pickup_label_check
from volunteers.identity import booking_by_link
from volunteers.models import Booking

MAX_SEATS = 7
# A lift leaves at most this long before its slot starts (a longer trip is not "a lift to the session").
EARLIEST_DEPARTURE = timedelta(hours=4)
LIVE = (Booking.Status.CONFIRMED,)


def _place(manage_token: str, *, for_what: str) -> Booking:
    """The proven, confirmed, upcoming place behind a private link, its volunteer not blocked from lifts."""
    booking = booking_by_link(manage_token=manage_token)
    if booking.proven_at is None:
        raise InvalidState(gettext("Confirm it's your phone first, then you can %(what)s.") % {"what": for_what},
                           code="not_proven")
    if booking.status not in LIVE or booking.approval == Booking.Approval.PENDING:
        raise InvalidState(gettext("Lifts are for confirmed places only."), code="not_confirmed")
    if booking.slot.starts_at <= timezone.now():
        raise InvalidState(gettext("This session has started: lifts to it are closed."), code="slot_started")
    if LiftBlock.objects.filter(volunteer_id=booking.volunteer_id).exists():
        raise PermissionDenied(gettext("An organiser has stopped lifts for this number. Ask them if this is a "
                                       "mistake."), code="lifts_blocked")
    return booking


def _limit(booking: Booking) -> None:
    # A lift is offered, asked for or answered at most as often as a phone may book (booking_phone).
    rate_limit(scope="booking_phone", key=booking.volunteer.phone,
               message=gettext("Too many lift requests from this number. Please wait a little and try again."))


def offer_create(*, manage_token: str, seats: int, pickup_kind: str, pickup_label: str, pickup_postcode: str,
                 departs_at: datetime, invite_only: bool = False, woman_driver: bool = False) -> LiftOffer:
    """Offer `seats` seats in the driver's car to their slot, leaving `pickup_label` (a public place) near
    `pickup_postcode` at `departs_at`. InvalidInput naming every bad field at once; one open offer per place."""
    booking = _place(manage_token, for_what=gettext("offer a lift"))
    slot = booking.slot
    problems: dict[str, list[str]] = {}
    if not 1 <= seats <= MAX_SEATS:
        problems["seats"] = [gettext("Between 1 and %(max)d.") % {"max": MAX_SEATS}]
    if pickup_kind not in LiftOffer.PickupKind.values:
        problems["pickup_kind"] = [gettext("Choose the kind of place.")]
    label_problem = pickup_label_check(pickup_label)
    if label_problem:
        problems["pickup_label"] = [label_problem]
    location = None
    try:
        location = postcode_locate(pickup_postcode, field="pickup_postcode")
    except InvalidInput as exc:
        problems.update(exc.fields)
    if not slot.starts_at - EARLIEST_DEPARTURE <= departs_at < slot.starts_at:
        problems["departs_at"] = [gettext("Leave before the session starts, and no more than 4 hours before.")]
    if departs_at <= timezone.now():
        problems["departs_at"] = [gettext("Must be in the future.")]
    if problems:
        raise InvalidInput(gettext("Please check the lift's details."), code="invalid_lift", fields=problems)
    _limit(booking)
    try:
        with transaction.atomic():
            return LiftOffer.objects.create(
                booking=booking, slot=slot, seats=seats, pickup_kind=pickup_kind, pickup_label=pickup_label.strip(),
                pickup_postcode=location.postcode, pickup_district=location.district, pickup_lat=location.lat,
                pickup_lng=location.lng, departs_at=departs_at, invite_only=invite_only, woman_driver=woman_driver)
    except IntegrityError:
        raise Conflict(gettext("You already offer a lift to this session: cancel it to offer another."),
                       code="lift_already_offered") from None


def offer_of(booking: Booking) -> LiftOffer | None:
    return LiftOffer.objects.filter(booking=booking, status=LiftOffer.Status.OPEN).first()


def seats_taken(offer: LiftOffer) -> int:
    """Seats the accepted riders take: a rider's party rides together, a seat each."""
    return LiftOffer.objects.filter(pk=offer.pk).aggregate(taken=seats_taken_sum())["taken"]


def request_create(*, manage_token: str, offer_token: str, invite_token: str = "") -> LiftRequest:
    """Ask for a seat in an open offer to the rider's own slot (named by its token, or by its invite token alone:
    the code a driver gives riders they know). An invite-only offer needs its invite token; a
    driver cannot ask for their own lift; one seat asked for or held per place."""
    booking = _place(manage_token, for_what=gettext("ask for a lift"))
    open_offers = LiftOffer.objects.filter(status=LiftOffer.Status.OPEN)
    offer = (open_offers.filter(token=offer_token).first() if offer_token
             else open_offers.filter(invite_token=invite_token).first() if invite_token else None)
    if offer is None or offer.slot_id != booking.slot_id or (
            offer.invite_only and invite_token != offer.invite_token):
        raise NotFound(gettext("This lift is not offered any more."), code="lift_not_found")
    if offer.booking.volunteer_id == booking.volunteer_id:
        raise InvalidState(gettext("This is your own lift."), code="own_lift")
    if seats_taken(offer) + booking.party_size > offer.seats:
        raise Conflict(gettext("This lift is full."), code="lift_full")
    _limit(booking)
    try:
        with transaction.atomic():
            request = LiftRequest.objects.create(offer=offer, booking=booking)
            lift_changed.send(sender=LiftRequest, request=request, change=events.REQUESTED)
    except IntegrityError:
        raise Conflict(gettext("You have already asked for a lift to this session: withdraw it to ask another "
                               "driver."), code="lift_already_requested") from None
    return request


def request_answer(*, manage_token: str, request_token: str, accept: bool) -> LiftRequest:
    """The driver accepts or declines one request for their open offer. Accepting takes a seat: the offer row is
    locked so that two answers at once never put more riders in the car than it has seats."""
    booking = _place(manage_token, for_what=gettext("answer a request"))
    with transaction.atomic():
        offer = LiftOffer.objects.select_for_update().filter(booking=booking, status=LiftOffer.Status.OPEN).first()
        request = offer and offer.requests.select_for_update().filter(token=request_token).first()
        if request is None:
            raise NotFound(gettext("This request is not there any more."), code="lift_request_not_found")
        if request.status != LiftRequest.Status.REQUESTED:
            return request  # answered already: the same answer twice is one
        if accept and seats_taken(offer) + request.booking.party_size > offer.seats:
            raise Conflict(gettext("Your car is full: every seat is taken."), code="lift_full")
        _limit(booking)
        request.status = LiftRequest.Status.ACCEPTED if accept else LiftRequest.Status.DECLINED
        request.answered_at = timezone.now()
        request.save(update_fields=["status", "answered_at"])
        lift_changed.send(sender=LiftRequest, request=request, change=events.ACCEPTED if accept else events.DECLINED)
    return request


def request_withdraw(*, manage_token: str) -> LiftRequest | None:
    """The rider gives up their seat or request (their place is kept); the driver is told if it was theirs."""
    booking = booking_by_link(manage_token=manage_token)
    with transaction.atomic():
        ended = _requests_end(Q(booking=booking), status=LiftRequest.Status.WITHDRAWN, change=events.WITHDRAWN)
    return ended[0] if ended else None


def offer_cancel(*, manage_token: str, reason: str = "driver") -> LiftOffer | None:
    """The driver cancels their lift: every rider (asked or accepted) is told, and keeps their booking."""
    booking = booking_by_link(manage_token=manage_token)
    with transaction.atomic():
        offers = _offers_end(Q(booking=booking), reason=reason)
    return offers[0] if offers else None


def _offers_end(where: Q, *, reason: str) -> list[LiftOffer]:
    now = timezone.now()
    offers = list(LiftOffer.objects.select_for_update().filter(where, status=LiftOffer.Status.OPEN))
    for offer in offers:
        offer.status, offer.cancelled_at, offer.cancel_reason = LiftOffer.Status.CANCELLED, now, reason
        offer.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        _requests_end(Q(offer=offer), status=LiftRequest.Status.OFFER_CANCELLED, change=events.OFFER_CANCELLED)
    return offers


def _requests_end(where: Q, *, status: str, change: str) -> list[LiftRequest]:
    now = timezone.now()
    ended = list(LiftRequest.objects.select_for_update().filter(where, status__in=LiftRequest.ACTIVE))
    for request in ended:
        was = request.status
        request.status, request.ended_at = status, now
        request.save(update_fields=["status", "ended_at"])
        # The driver is not told of a request they never answered and the rider withdrew: only of a seat freed.
        if change != events.WITHDRAWN or was == LiftRequest.Status.ACCEPTED:
            lift_changed.send(sender=LiftRequest, request=request, change=change)
    return ended


def lifts_end_for_bookings(*, booking_ids: list[int], reason: str) -> None:
    """Places that ended (cancelled, moved, refused, released, the session cancelled): a driver's lift is cancelled
    (riders told, bookings kept), a rider's seat or request withdrawn (the driver told). In the caller's
    transaction (a booking event's)."""
    if not booking_ids:
        return
    _offers_end(Q(booking_id__in=booking_ids), reason=reason)
    _requests_end(Q(booking_id__in=booking_ids), status=LiftRequest.Status.WITHDRAWN, change=events.WITHDRAWN)


def volunteer_block(*, volunteer_id: int, user, reason: str) -> LiftBlock:
    """A coordinator stops a driver or rider: no more offers or requests, and their open ones end now."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(gettext("Say why."), code="reason_required", fields={"reason": [gettext("Required.")]})
    with transaction.atomic():
        block, _ = LiftBlock.objects.update_or_create(volunteer_id=volunteer_id,
                                                      defaults={"blocked_by": user, "reason": reason[:200]})
        booking_ids = list(Booking.objects.filter(volunteer_id=volunteer_id).values_list("pk", flat=True))
        _offers_end(Q(booking_id__in=booking_ids), reason="blocked")
        _requests_end(Q(booking_id__in=booking_ids), status=LiftRequest.Status.WITHDRAWN, change=events.WITHDRAWN)
    return block


def volunteer_unblock(*, volunteer_id: int) -> None:
    LiftBlock.objects.filter(volunteer_id=volunteer_id).delete()


def lift_disclosure_record(*, request: LiftRequest, volunteer_id: int, shown: str, path: str) -> None:
    """Ledger: `volunteer_id` was first shown `shown` of accepted lift `request` on `path` now (once: later views
    only read)."""
    if LiftDisclosure.objects.filter(request=request, volunteer_id=volunteer_id, shown=shown, path=path).exists():
        return
    try:
        with transaction.atomic():
            LiftDisclosure.objects.create(request=request, volunteer_id=volunteer_id, shown=shown, path=path,
                                          first_at=timezone.now())
    except IntegrityError:  # the same first view twice at once: recorded by the other
        pass


def offers_stats(slot_ids: list[int]) -> dict[int, dict]:
    """Per slot: lifts offered, seats offered, seats taken and riders waiting for an answer."""
    rows = (LiftOffer.objects.filter(slot_id__in=slot_ids, status=LiftOffer.Status.OPEN).values("slot_id")
            .annotate(offers=Count("id", distinct=True),
                      taken=seats_taken_sum(),
                      waiting=Count("requests", filter=Q(requests__status=LiftRequest.Status.REQUESTED))))
    seats = dict(LiftOffer.objects.filter(slot_id__in=slot_ids, status=LiftOffer.Status.OPEN).values("slot_id")
                 .annotate(total=Sum("seats")).values_list("slot_id", "total"))
    return {row["slot_id"]: {**row, "seats": seats.get(row["slot_id"], 0)} for row in rows}

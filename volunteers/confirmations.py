"""Confirm or release, and offers from the waitlist (issue 25; docs/confirm-or-release.md).

Confirm or release: the day-before reminder asks every volunteer to confirm (reply OK, or the button behind the
texted link: booking_attendance_confirm). Where the session's host or the seat's coordinators ask for it
(CanvassSession.confirm_required, Seat.confirm_required), a place still not confirmed CONFIRM_DEADLINE_HOURS before
the start is released (booking_release_unconfirmed): the booking ends as "booking_unconfirmed", the volunteer is
texted how to book again, and the place goes to the waitlist. Only volunteers who were asked are released: the beat
sweep (notify.confirmations) passes the bookings a day-before reminder went out for.

Offers: a place freed within PROMOTION_OFFER_WINDOW_HOURS of the start is not given outright to the first waiter
(who may have made other plans) but offered (offer_deadline): the booking is confirmed, its place counted as taken
so nobody else can have it, with offer_expires_at set; the text asks for OK or the link by then, and the address
stays hidden (volunteers.disclosure). Accepted (booking_offer_accept) it becomes an ordinary place (a
booking_promoted event: the usual text with the address, the host told); lapsed (bookings_offers_lapse, beat) the
booking ends as "booking_offer_lapsed" and the place is offered to the next waiter.

Every change locks the booking row first and checks again, so a reply, a click and a sweep racing each other give
one outcome; places are taken and given back only through sessions.services' conditional UPDATEs.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidState, NotFound
from sessions.models import Slot
from sessions.services import slot_release_place
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent

OFFER_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat")


def offer_deadline(*, slot: Slot, now: datetime) -> datetime | None:
    """When an offer of a place on `slot` made now lapses; None far from the start (promote at once)."""
    if slot.starts_at - now > timedelta(hours=settings.PROMOTION_OFFER_WINDOW_HOURS):
        return None
    return min(now + timedelta(minutes=settings.PROMOTION_OFFER_MINUTES), slot.starts_at)


def confirm_required(session) -> bool:
    """Whether places on the session are released when not confirmed in time (the host's or the seat's setting)."""
    return bool(session.confirm_required or (session.seat_id and session.seat.confirm_required))


def confirm_deadline(slot: Slot) -> datetime:
    return slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)


def offer_is_open(booking: Booking, now: datetime | None = None) -> bool:
    return (booking.status == Booking.Status.CONFIRMED and booking.offer_expires_at is not None
            and booking.offer_expires_at > (now or timezone.now()))


def _locked(**lookup) -> Booking:
    booking = (Booking.objects.select_for_update(of=("self",)).select_related(*OFFER_RELATED)
               .filter(**lookup).first())
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    return booking


@transaction.atomic
def booking_offer_accept(*, booking_id: int | None = None, manage_token: str | None = None) -> Booking:
    """Take the place offered (a reply OK, or the button behind the link): the booking becomes an ordinary place,
    its attendance confirmed, with a booking_promoted event (the text with the address; the host is told).
    Idempotent: accepting again returns the booking. InvalidState offer_lapsed once the offer has gone."""
    booking = _locked(pk=booking_id) if booking_id is not None else _locked(manage_token=manage_token or "")
    now = timezone.now()
    if booking.status == Booking.Status.CONFIRMED and booking.offer_expires_at is None and (
            BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.PROMOTED,
                                        version=booking.version).exists()):
        return booking  # accepted already
    if not offer_is_open(booking, now):
        raise InvalidState(gettext("This offer has lapsed: the place went to the next person waiting."),
                           code="offer_lapsed", fields={"offer": [gettext("No longer open.")]})
    from volunteers.services import booking_status_set

    booking_status_set(booking=booking, status=Booking.Status.CONFIRMED, offer_expires_at=None,
                       attendance_confirmed_at=now, proven_at=booking.proven_at or now,
                       held_since=None, held_until=None)
    booking_event_record(booking=booking, kind=BookingEvent.Kind.PROMOTED, payload={"offer_accepted": True})
    return booking


@transaction.atomic
def booking_confirm_by_link(*, manage_token: str) -> Booking:
    """"I'm coming": the button on the booking's page (the texted link) confirms attendance as a reply OK does,
    or takes an open offer. Idempotent. InvalidState for a booking that is not a proven place."""
    booking = _locked(manage_token=manage_token or "")
    if booking.status == Booking.Status.CONFIRMED and booking.offer_expires_at is not None:
        return booking_offer_accept(booking_id=booking.pk)  # offer_lapsed once its time has passed
    if booking.status != Booking.Status.CONFIRMED or booking.proven_at is None:
        raise InvalidState(gettext("Only a booked place can be confirmed."), code="not_confirmed")
    if booking.attendance_confirmed_at is None:
        booking.attendance_confirmed_at = timezone.now()
        booking.save(update_fields=["attendance_confirmed_at", "updated_at"])
    return booking


def _ended_and_offered_on(booking: Booking, *, kind: str) -> None:
    """End a locked confirmed booking with `kind`, give its places back (all a party's), and offer (or give) them to
    the waitlist."""
    from volunteers.services import booking_status_set, booking_waitlist_promote

    slot_release_place(slot_id=booking.slot_id, places=booking.party_size)
    booking_status_set(booking=booking, status=Booking.Status.CANCELLED, cancelled_at=timezone.now())
    # released_place for webhooks and exports; the waitlist is served here, not by the releasing-kinds handler.
    booking_event_record(booking=booking, kind=kind, payload={"released_place": True})
    booking_waitlist_promote(slot_id=booking.slot_id)


def offers_lapse_due(*, now: datetime):
    return Booking.objects.filter(status=Booking.Status.CONFIRMED, offer_expires_at__lte=now)


def bookings_offers_lapse(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat: end the offers not taken in time, each in its own transaction, and offer each place to the next
    waiter. Returns how many lapsed. Safe to run twice and concurrently (each booking is locked and checked
    again; one being accepted meanwhile is skipped and, once accepted, no longer due)."""
    now = now or timezone.now()
    lapsed = 0
    for booking_id in list(offers_lapse_due(now=now).order_by("offer_expires_at", "id")
                           .values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            booking = (offers_lapse_due(now=now).select_for_update(of=("self",), skip_locked=True)
                       .select_related(*OFFER_RELATED).filter(pk=booking_id).first())
            if booking is None:
                continue
            _ended_and_offered_on(booking, kind=BookingEvent.Kind.OFFER_LAPSED)
            lapsed += 1
    return lapsed


def unconfirmed_release_due(*, now: datetime):
    """Proven places not confirmed, on sessions that ask for it, whose deadline has passed and which have not
    started. (Whether the volunteer was asked is the caller's: notify.confirmations.)"""
    deadline = now + timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)
    return Booking.objects.filter(
        Q(slot__session__confirm_required=True) | Q(slot__session__seat__confirm_required=True),
        status=Booking.Status.CONFIRMED, proven_at__isnull=False, attendance_confirmed_at__isnull=True,
        offer_expires_at__isnull=True, slot__starts_at__gt=now, slot__starts_at__lte=deadline,
        slot__session__status="published",
    ).exclude(approval=Booking.Approval.PENDING)


def booking_release_unconfirmed(*, booking_id: int, now: datetime | None = None) -> bool:
    """Release one place not confirmed by its deadline (see unconfirmed_release_due): the booking ends as
    booking_unconfirmed (texted: how to book again) and the place goes to the waitlist. False, with nothing
    changed, if it is no longer due (confirmed, cancelled, being changed meanwhile). Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = (unconfirmed_release_due(now=now).select_for_update(of=("self",), skip_locked=True)
                   .select_related(*OFFER_RELATED).filter(pk=booking_id).first())
        if booking is None:
            return False
        _ended_and_offered_on(booking, kind=BookingEvent.Kind.UNCONFIRMED)
    return True

"""A host's approval of the volunteers who book a session that asks for it."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import pk_in_range
from core.errors import InvalidState, NotFound
from sessions.services import meeting_point_managed_by
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services.common import ACTIVE_STATUSES
from volunteers.services.holds import booking_end


def _managed_booking(*, user, session_id: int, booking_id: int) -> Booking:
    """The booking, locked, if it belongs to the session and the user runs it; NotFound otherwise (as for the session)."""
    booking = (Booking.objects.select_for_update(of=("self",))
               .select_related("volunteer", "slot__session__meeting_point", "slot__session__seat")
               .filter(pk=booking_id, slot__session_id=session_id).first() if pk_in_range(Booking, booking_id) else None)
    if booking is None or not meeting_point_managed_by(user=user, meeting_point=booking.slot.session.meeting_point):
        raise NotFound(gettext("No such booking in this session."), code="not_found")
    return booking


@transaction.atomic
def booking_approve(*, user, session_id: int, booking_id: int) -> Booking:
    """The session's host (or a coordinator) approves a volunteer waiting for it: the booking gets a new version
    and a booking_approved event, which texts the volunteer (the address, if they hold a place). Idempotent."""
    booking = _managed_booking(user=user, session_id=session_id, booking_id=booking_id)
    if booking.approval == Booking.Approval.APPROVED:
        return booking
    if booking.approval != Booking.Approval.PENDING or booking.status not in ACTIVE_STATUSES:
        raise InvalidState(gettext("Only a booking waiting for approval can be approved."), code="not_awaiting_approval")
    _approve_locked(booking, payload={"by": user.pk})
    return booking


def _approve_locked(booking: Booking, *, payload: dict) -> None:
    booking.approval = Booking.Approval.APPROVED
    booking.version += 1
    booking.save(update_fields=["approval", "version", "updated_at"])
    booking_event_record(booking=booking, kind=BookingEvent.Kind.APPROVED, payload=payload)


def bookings_approve_for_session(*, session, by=None) -> int:
    """Inside the transaction that turned the session's requires_approval off: each active booking still waiting
    for the host's approval, on a slot that has not ended, is approved as booking_approve does it (a new version
    and a booking_approved event, which texts the volunteer). Returns how many; a repeat finds none."""
    payload = {"by": getattr(by, "pk", None), "approval_dropped": True}
    count = 0
    for booking in Booking.objects.select_for_update(of=("self",)).filter(
        slot__session=session, approval=Booking.Approval.PENDING, status__in=ACTIVE_STATUSES,
        slot__ends_at__gt=timezone.now(),
    ).order_by("id"):
        _approve_locked(booking, payload=payload)
        count += 1
    return count


@transaction.atomic
def booking_refuse(*, user, session_id: int, booking_id: int) -> Booking:
    """The host refuses a volunteer waiting for approval: the booking is cancelled, a held place goes back to
    the slot and the waitlist is promoted after commit, and the volunteer is texted. Idempotent."""
    booking = _managed_booking(user=user, session_id=session_id, booking_id=booking_id)
    if booking.approval == Booking.Approval.REFUSED:
        return booking
    if booking.approval != Booking.Approval.PENDING or booking.status not in ACTIVE_STATUSES:
        raise InvalidState(gettext("Only a booking waiting for approval can be refused."), code="not_awaiting_approval")
    booking_end(booking, kind=BookingEvent.Kind.REFUSED, approval=Booking.Approval.REFUSED, by=user.pk)
    return booking

"""Attendance: a volunteer saying they will come, and the host recording who turned up."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import pk_in_range
from core.errors import InvalidState, NotFound
from sessions.services import meeting_point_managed_by
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services.common import status_set


@transaction.atomic
def booking_attendance_confirm(*, booking_id: int) -> Booking:
    """Mark that a confirmed volunteer said they will come (a signed reply from their phone, which proves the
    booking too). Idempotent."""
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status != Booking.Status.CONFIRMED:
        raise InvalidState(gettext("Only a confirmed booking can be confirmed."), code="not_confirmed")
    if booking.attendance_confirmed_at is None or booking.proven_at is None:
        now = timezone.now()
        booking.attendance_confirmed_at = booking.attendance_confirmed_at or now
        booking.proven_at = booking.proven_at or now
        booking.save(update_fields=["attendance_confirmed_at", "proven_at", "updated_at"])
    return booking


ATTENDANCE_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)


@transaction.atomic
def booking_attendance_record(*, user, session_id: int, booking_id: int, attended: bool) -> Booking:
    """The host (or a coordinator) records whether a confirmed volunteer turned up, once the slot has started.

    A later call corrects an earlier one; repeating the same answer changes nothing. The place stays taken
    either way. Only the session's host and coordinators may record it; others get NotFound, as for the
    session itself."""
    booking = (Booking.objects.select_for_update(of=("self",)).select_related("slot__session__meeting_point")
               .filter(pk=booking_id, slot__session_id=session_id).first() if pk_in_range(Booking, booking_id) else None)
    if booking is None or not meeting_point_managed_by(user=user, meeting_point=booking.slot.session.meeting_point):
        raise NotFound(gettext("No such booking in this session."), code="not_found")
    if booking.status not in ATTENDANCE_STATUSES:
        raise InvalidState(gettext("A %(status)s booking has no attendance to record.") % {"status": booking.get_status_display().lower()},
                           code="not_confirmed", fields={"attended": [gettext("Only confirmed bookings.")]})
    if booking.slot.starts_at > timezone.now():
        raise InvalidState(gettext("The slot has not started yet."), code="slot_not_started",
                           fields={"attended": [gettext("Record attendance once the slot has started.")]})
    status, kind = ((Booking.Status.ATTENDED, BookingEvent.Kind.ATTENDED) if attended
                    else (Booking.Status.NO_SHOW, BookingEvent.Kind.NO_SHOW))
    if booking.status != status:
        status_set(booking, status)
        booking_event_record(booking=booking, kind=kind, payload={"recorded_by": user.pk})
    return booking

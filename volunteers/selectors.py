"""Reads of bookings for the people who run a session."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from sessions.selectors import session_managed
from volunteers.models import Booking
from volunteers.privacy import Access, personal_data_accessed_record

# Who is coming first, then the waitlist in its order, then those who are not coming any more.
_ROSTER_ORDER = Case(
    When(status__in=(Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW), then=Value(0)),
    When(status=Booking.Status.WAITLISTED, then=Value(1)),
    default=Value(2), output_field=IntegerField(),
)


def session_roster(*, user, session_id: int, statuses: list[str] | None = None) -> QuerySet[Booking]:
    """A session's bookings for its host or a coordinator: slot by slot, those coming first, then the waitlist."""
    session = session_managed(user=user, session_id=session_id)
    bookings = Booking.objects.filter(slot__session=session).select_related("volunteer", "slot")
    if session.meeting_point.host_id != user.pk:  # a coordinator reading another's roster: audited
        personal_data_accessed_record(actor=user, action=Access.ROSTER_READ, session=session.pk,
                                      volunteer_ids=set(bookings.values_list("volunteer_id", flat=True)))
    if statuses:
        bookings = bookings.filter(status__in=statuses)
    return bookings.order_by("slot__starts_at", "slot_id", _ROSTER_ORDER, "waitlisted_at", "created_at", "id")

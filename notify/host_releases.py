"""The host is told when places on their session nobody confirmed in time go to the waitlist (notify.confirmations'
sweep): a service message by the channels they chose for bookings and cancellations (an email each time, a text each
time, both), one per session and run however many places went, written in the transaction that released them, so a
run killed midway has told the host of exactly the places it released. Wired in notify.wiring."""

from notify.email.services.host_releases import host_released_email_record
from notify.sms.services.host_releases import host_released_text_record
from volunteers.models import Booking


def host_released_notify(*, booking_ids: list[int]) -> None:
    """Inside the releasing transaction: tell the host of these released bookings of one session. Idempotent."""
    bookings = list(Booking.objects.filter(pk__in=booking_ids)
                    .select_related("volunteer", "slot__session__meeting_point").order_by("pk"))
    if bookings:
        host_released_text_record(bookings=bookings)
        host_released_email_record(bookings=bookings)

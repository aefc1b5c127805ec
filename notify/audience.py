"""Who hears of what: the one place that says which booking events reach a volunteer by each channel, and what a
host hears of. (Webhook endpoints choose their own event types: notify.webhooks.models.EVENT_TYPES.)

What a host is told of on their sessions, by whichever channel they chose (notify.email: an email each or a
daily digest; notify.sms: a text each): a place taken by a proven phone, or a place given back. One rule for
both channels, so an email and a text never disagree about what happened.

An unproven booking is not announced (it may be somebody else's number): the host hears once the phone is proven
(the booking_proven signal). The host's own acts (cancelling the session, refusing a volunteer) are not echoed
back to them, and a cancellation that gave back no place (a waitlisted volunteer leaving) is not news to them, nor
is a volunteer moving between two slots of the same session (volunteers.services.booking_swap).
"""

from volunteers.models import BookingEvent

Kind = BookingEvent.Kind

# The booking events a volunteer is texted about; attendance_confirmed is answered by the reply itself.
TEXTED = frozenset({
    Kind.CONFIRMED, Kind.WAITLISTED, Kind.PROMOTED, Kind.REDIRECTED, Kind.SESSION_CANCELLED, Kind.CANCELLED,
    Kind.VENUE_MOVED, Kind.SLOT_RESCHEDULED, Kind.RELEASED, Kind.APPROVED, Kind.REFUSED,
    Kind.OFFERED, Kind.OFFER_LAPSED, Kind.UNCONFIRMED,  # volunteers.confirmations
})
# The booking events a volunteer is emailed about: the texted ones but a release (a released booking never had a
# proven phone, so it is never emailed).
EMAILED = TEXTED - {Kind.RELEASED}

BOOKED = "booked"
CANCELLED = "cancelled"
BOOKED_EVENTS = frozenset({BookingEvent.Kind.CONFIRMED, BookingEvent.Kind.PROMOTED})
CANCELLED_EVENTS = frozenset({BookingEvent.Kind.CANCELLED})
EVENTS = BOOKED_EVENTS | CANCELLED_EVENTS


def host_notice(kind: str, payload: dict, proven: bool) -> str | None:
    """BOOKED, CANCELLED or None: what the host of the booking's session is told of this booking event."""
    if not proven or payload.get("host_quiet"):  # host_quiet: a move between two slots of one session
        return None
    if kind in BOOKED_EVENTS and not payload.get("by_request"):  # a request waits for its proof
        return BOOKED
    if kind in CANCELLED_EVENTS and payload.get("released_place"):
        return CANCELLED
    return None

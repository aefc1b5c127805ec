"""What a host is told of on their sessions, by whichever channel they chose (dispatch.email: an email each or a
daily digest; dispatch.sms: a text each): a place taken by a proven phone, or a place given back. One rule for
both channels, so an email and a text never disagree about what happened.

An unproven booking is not announced (it may be somebody else's number): the host hears once the phone is proven
(the booking_proven signal). The host's own acts (cancelling the session, refusing a volunteer) are not echoed
back to them, and a cancellation that gave back no place (a waitlisted volunteer leaving) is not news to them, nor
is a volunteer moving between two slots of the same session (volunteers.services.booking_swap).
"""

from volunteers.models import BookingEvent

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

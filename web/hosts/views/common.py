"""What the hosts' pages share: the booking states they show, a bound form's data, the host's own session."""

from django.http import Http404

from core.errors import NotFound
from sessions.models import CanvassSession
from sessions.selectors import session_managed
from volunteers.models import Booking

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SLOTS_PREFIX = "slots"
COMING = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)
# Bookings a host can still answer: a place held, or a waitlist place, waiting for their approval.
ANSWERABLE = (Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)


def approval_enabled() -> bool:
    return True  # every session may ask its host to approve each volunteer (CanvassSession.requires_approval)


def posted(request):
    # Not `request.POST or None`: an empty POST (an unticked confirmation box) must still be a bound form.
    return request.POST if request.method == "POST" else None


def managed(request, session_id: int) -> CanvassSession:
    try:
        return session_managed(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None

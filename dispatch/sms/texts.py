"""Message texts, rendered from templates/sms/<name>.txt and squeezed into few GSM-7 segments."""

from functools import cache
from pathlib import Path

from django.template import Context, Engine
from django.utils import timezone

from dispatch.sms.segments import gsm7_fold
from volunteers.models import Booking

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Field limits keep every template within two segments (see tests/sms/test_texts.py).
LIMITS = {"first_name": 16, "title": 34, "old_title": 34, "address": 56, "host": 16, "bring": 30, "seat": 30}


@cache
def _engine() -> Engine:
    # Plain text, not HTML: no escaping of apostrophes or ampersands.
    return Engine(dirs=[str(TEMPLATE_DIR)], autoescape=False)


def _clip(value: str, limit: int) -> str:
    value = gsm7_fold(" ".join(str(value or "").split()))
    return value if len(value) <= limit else value[: limit - 3].rstrip() + "..."


def text_render(name: str, context: dict) -> str:
    """Render templates/sms/<name>.txt on one line, long fields clipped and accents folded to stay in GSM-7."""
    clipped = {key: _clip(value, LIMITS[key]) if key in LIMITS else value for key, value in context.items()}
    text = _engine().get_template(f"sms/{name}.txt").render(Context(clipped))
    return gsm7_fold(" ".join(text.split()))


def _first_name(name: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else "there"


def _when(slot) -> str:
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    return f"{start:%a %d %b} {start:%H:%M}-{end:%H:%M}"


def booking_context(booking: Booking) -> dict:
    slot = booking.slot
    session = slot.session
    point = session.meeting_point
    return {
        "first_name": _first_name(booking.volunteer.name),
        "title": session.title,
        "when": _when(slot),
        "start_time": f"{timezone.localtime(slot.starts_at):%H:%M}",
        "address": f"{point.address}, {point.postcode}",
        "host": point.host_first_name or "your host",
        "bring": session.what_to_bring or "a charged phone",
        "seat": session.seat.name,
    }


def booking_text(*, kind: str, booking: Booking, minutes: int = 30) -> str:
    """The SMS for `kind` about `booking`; a redirect describes the new booking it points to."""
    if kind == "booking_redirected" and booking.redirected_to_id:
        context = booking_context(booking.redirected_to)
        context["old_title"] = booking.slot.session.title
    else:
        context = booking_context(booking)
    context["minutes"] = minutes
    return text_render(kind, context)

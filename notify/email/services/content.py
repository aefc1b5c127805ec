"""What an email says, rendered when it is sent from templates/email/: a plain-text and an HTML body, the private
link, the unsubscribe link and (for bookings) the calendar file. The exact address, the host's first name and
the turf only when volunteers.disclosure.front_room_disclose allows them (metered), as in the texts."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volunteers.disclosure import FrontRoomShown, front_room_disclose
from volunteers.links import manage_url
from volunteers.models import Booking
from volunteers.parties import party_places_phrase
from volunteers.selectors import roster_person


def message_id_domain() -> str:
    return urlsplit(settings.PUBLIC_BASE_URL).hostname or "frontroom"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    calendar: bytes | None = None
    calendar_method: str = ""


# (subject, opening line); the subject's {title} is the session's.
BOOKING_WORDS = {
    "booking_confirmed": (gettext_lazy("Your place is booked: {title}"), gettext_lazy("You have a place at a canvassing session.")),
    "booking_waitlisted": (gettext_lazy("You're on the waitlist: {title}"),
                           gettext_lazy("The session is full, so you are on its waitlist. We'll email you if a place opens.")),
    "booking_promoted": (gettext_lazy("A place opened up: {title}"), gettext_lazy("A place opened up and it is yours.")),
    "booking_redirected": (gettext_lazy("We've found you a place nearby: {title}"),
                           gettext_lazy("Your session was full, so we booked you on one close by that needs people more.")),
    "session_cancelled": (gettext_lazy("Cancelled: {title}"), gettext_lazy("Sorry: the host has cancelled this session.")),
    "booking_cancelled": (gettext_lazy("Your booking is cancelled: {title}"), gettext_lazy("Your booking is cancelled.")),
    "venue_moved": (gettext_lazy("New meeting place: {title}"), gettext_lazy("The session now meets somewhere else.")),
    "slot_rescheduled": (gettext_lazy("New times: {title}"), gettext_lazy("The session has moved to new times.")),
    "booking_approved": (gettext_lazy("The host confirmed your place: {title}"), gettext_lazy("The host has confirmed your place.")),
    "booking_refused": (gettext_lazy("No place this time: {title}"), gettext_lazy("Sorry: the host could not take you this time.")),
    "reminder_day_before": (gettext_lazy("Tomorrow: {title}"), gettext_lazy(
        "A reminder: you are canvassing tomorrow. Please confirm you're coming: open your booking and press "
        "\"I'm coming\", or reply OK to our text.")),
    # volunteers.confirmations: an offer from the waitlist, an offer not taken in time, a place not confirmed.
    "booking_offered": (gettext_lazy("A place is yours if you want it: {title}"), gettext_lazy(
        "A place opened up. Open your booking and take it before the time shown there; after that it goes to the "
        "next person waiting.")),
    "booking_offer_lapsed": (gettext_lazy("The place went to someone else: {title}"), gettext_lazy(
        "The place we offered you wasn't taken in time, so it went to the next person waiting.")),
    "booking_unconfirmed": (gettext_lazy("Your place was released: {title}"), gettext_lazy(
        "Your place wasn't confirmed in time, so it went to someone waiting. If you can still come, book again.")),
    "reminder_soon": (gettext_lazy("Starting soon: {title}"), gettext_lazy("A reminder: your session starts soon.")),
}
# The calendar event is withdrawn (METHOD:CANCEL) by these; the others send it as it now stands (REQUEST).
CANCELLING_KINDS = {"session_cancelled", "booking_cancelled", "booking_refused", "booking_unconfirmed"}
NO_CALENDAR_KINDS = {"booking_waitlisted", "booking_offered", "booking_offer_lapsed"}


def _first_name(name: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else _("there")


def _when(slot) -> str:
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    # Django's date format, not strftime: the day and month names are in the active language.
    return f"{dateformat.format(start, 'l d F')}, {start:%H:%M}–{end:%H:%M}"


def unsubscribe_url(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('email-unsubscribe', args=[token])}"


TEMPLATES = ("booking", "host_notice", "host_digest", "broadcast")


def templates_load() -> None:
    """Compile every email template into the cached loader (a worker does it before forking its children)."""
    for name in TEMPLATES:
        get_template(f"email/{name}.txt")
        get_template(f"email/{name}.html")


def render(name: str, context: dict) -> tuple[str, str]:
    return (get_template(f"email/{name}.txt").render(context).strip() + "\n",
            get_template(f"email/{name}.html").render(context))


def booking_rendered(*, booking: Booking, kind: str, unsubscribe: str) -> Rendered:
    """The volunteer's email for `kind` about `booking` (a redirect's is about the booking it points to)."""
    subject_booking = booking.redirected_to if kind == "booking_redirected" and booking.redirected_to_id else booking
    slot = subject_booking.slot
    session = slot.session
    cancelled = kind in CANCELLING_KINDS
    room = FrontRoomShown(shown=False, district=session.postcode_district) if cancelled else front_room_disclose(
        booking=subject_booking, path=f"email.{kind}")
    shows = room.shown
    awaiting = subject_booking.approval == Booking.Approval.PENDING and not cancelled
    subject, lead = BOOKING_WORDS[kind]
    context = {
        "kind": kind, "lead": lead, "first_name": _first_name(booking.volunteer.name), "title": session.title,
        "when": _when(slot), "seat": session.seat.name, "bring": session.what_to_bring, "shows_address": shows,
        "address": room.one_line, "address_held": room.held,
        "host": (room.host_first_name or _("your host")) if shows else "",
        "turf": room.turf if shows else "",
        "district": session.postcode_district, "awaiting_approval": awaiting, "cancelled": cancelled,
        "old_title": booking.slot.session.title if subject_booking is not booking else "",
        "link": manage_url(subject_booking.manage_token), "unsubscribe": unsubscribe,
        "site": settings.SITE_NAME, "party": party_places_phrase(subject_booking.party_size),
    }
    text, html = render("booking", context)
    calendar, method = None, ""
    if kind not in NO_CALENDAR_KINDS:
        method = "CANCEL" if cancelled else "REQUEST"
        calendar = booking_calendar(subject_booking, method=method, room=room)
    return Rendered(subject=str(subject).format(title=session.title)[:200], text=text, html=html, calendar=calendar,
                    calendar_method=method)


def booking_calendar(booking: Booking, *, method: str, room: FrontRoomShown | None = None) -> bytes:
    """The booking's .ics as an invitation (REQUEST) or its withdrawal (CANCEL), with the same UID every time and
    the address only when the volunteer may see it (volunteers.calendar)."""
    from volunteers.calendar import booking_calendar as build

    return build(booking, method=method, room=room, path="email.ics")


def host_name(volunteer_name: str) -> str:
    """What a host is told of a volunteer: first name and initial (the roster has the rest)."""
    parts = (volunteer_name or "").split()
    if not parts:
        return _("A volunteer")
    return parts[0] + (f" {parts[-1][0]}." if len(parts) > 1 else "")


def roster_url(session_id: int) -> str:
    try:
        path = reverse("hosts:session_detail", args=[session_id])
    except NoReverseMatch:
        path = "/host/"
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def host_settings_url() -> str:
    try:
        path = reverse("hosts:notifications")
    except NoReverseMatch:
        path = "/host/"
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def host_notice_rendered(*, booking: Booking, kind: str, unsubscribe: str) -> Rendered:
    slot = booking.slot
    session = slot.session
    booked = kind == "host_booked"
    who = host_name(roster_person(booking).name)  # an unproven booking: only its typed first name
    context = {
        "booked": booked, "who": who, "title": session.title, "when": _when(slot),
        "taken": slot.confirmed_count, "capacity": slot.capacity, "roster": roster_url(session.pk),
        "settings_url": host_settings_url(), "unsubscribe": unsubscribe, "site": settings.SITE_NAME,
    }
    text, html = render("host_notice", context)
    subject = (_("{who} booked: {title}") if booked else _("{who} cancelled: {title}")).format(
        who=who, title=session.title)
    return Rendered(subject=subject[:200], text=text, html=html)


def host_digest_rendered(*, day, lines: list[dict], unsubscribe: str) -> Rendered:
    context = {"day": dateformat.format(day, "l d F"), "lines": lines, "settings_url": host_settings_url(),
               "unsubscribe": unsubscribe, "site": settings.SITE_NAME,
               "booked": sum(line["booked"] for line in lines), "cancelled": sum(not line["booked"] for line in lines)}
    text, html = render("host_digest", context)
    subject = _("Your sessions on {day}: {booked} booked, {cancelled} cancelled").format(
        day=dateformat.format(day, "D d M"), booked=context["booked"], cancelled=context["cancelled"])
    return Rendered(subject=subject[:200], text=text, html=html)

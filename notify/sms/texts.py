"""Message texts, rendered from templates/sms/<name>.txt and squeezed into few GSM-7 segments."""

import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine
from django.template.base import TextNode, Variable, VariableNode, render_value_in_context
from django.template.defaulttags import LoadNode
from django.templatetags.i18n import BlockTranslateNode
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext

from core.languages import language_override
from notify.sms.segments import gsm7_fold
from sessions.hosts import host_language
from sessions.models import Slot
from volunteers.confirmations import confirm_deadline, confirm_required
from volunteers.disclosure import FrontRoomShown, Hidden, front_room_disclose
from volunteers.links import manage_url, needed_url
from volunteers.models import Booking, PhoneChallenge
from volunteers.parties import party_places_phrase
from volunteers.selectors import roster_person

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Field limits keep every template within two segments (see tests/sms/test_texts.py).
LIMITS = {"first_name": 16, "title": 34, "old_title": 24, "address": 56, "host": 16, "bring": 26, "seat": 30,
          "district": 4, "code_title": 24}


@cache
def _engine() -> Engine:
    # Plain text, not HTML: no escaping of apostrophes or ampersands. Each template is one {% blocktranslate %}
    # (or a few behind {% if %}), rendered in the active language: the booking's, the challenge's or the host's.
    return Engine(dirs=[str(TEMPLATE_DIR)], autoescape=False, libraries={"i18n": "django.templatetags.i18n"})


# Three full stops, not "…": that character is not in GSM-7 (notify.sms.segments), and one would send the whole
# text as UCS-2, at more than twice the price.
ELLIPSIS = "..."
# Left off the end of a shortened value before the ellipsis: no "....", no "Crookes, ..." or "Walkley & ...".
_TRAILING = " .,;:!?-&(/+'\""


def _clip(value: str, limit: int) -> str:
    """`value` on one line in GSM-7, and if longer than `limit` shortened at the last word boundary that leaves
    room for one ellipsis. Only a first word longer than the limit is cut inside a word."""
    value = gsm7_fold(" ".join(str(value or "").split()))
    if len(value) <= limit:
        return value
    room = limit - len(ELLIPSIS)
    boundary = value.rfind(" ", 0, room + 1)  # a word that ends exactly at the room is kept whole
    head = value[:boundary].rstrip(_TRAILING) if boundary > 0 else ""
    return (head or value[:room].rstrip(_TRAILING) or value[:room]) + ELLIPSIS


def text_render(name: str, context: dict) -> str:
    """Render templates/sms/<name>.txt on one line, long fields clipped and accents folded to stay in GSM-7."""
    clipped = {key: _clip(value, LIMITS[key]) if key in LIMITS else value for key, value in context.items()}
    # autoescape=False on the Context too: Context() escapes by default whatever the Engine says.
    text = _engine().get_template(f"sms/{name}.txt").render(Context(clipped, autoescape=False))
    return _tidy(" ".join(text.split()))


_DOTS = re.compile(r"\.{4,}")


def _tidy(text: str) -> str:
    # A shortened value ends in "..." and the template may put its own full stop after it: one ellipsis, not "....".
    return _DOTS.sub(ELLIPSIS, gsm7_fold(text))


def _first_name(name: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else gettext("there")


def text_when(slot) -> str:
    """A slot's day and times as the texts write them."""
    return _when(slot)


def _when(slot) -> str:
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    # Django's date format, not strftime: the day and month names are in the active language ("Sad 07 Rhag").
    return f"{dateformat.format(start, 'D d M')} {start:%H:%M}-{end:%H:%M}"


def booking_context(booking: Booking) -> dict:
    """What a text about `booking` may say, its private link (volunteers.links.manage_url) included: every text
    about a booking carries it. Never the front room: booking_render adds it, through the disclosure check."""
    return {"first_name": _first_name(booking.volunteer.name), **slot_context(booking.slot),
            "confirmed": booking.status in (Booking.Status.CONFIRMED, Booking.Status.ATTENDED),
            "party": _party(booking), "link": manage_url(booking.manage_token),
            # An offer from the waitlist (volunteers.confirmations): the time it lapses.
            "until": f"{timezone.localtime(booking.offer_expires_at):%H:%M}" if booking.offer_expires_at else ""}


def _party(booking: Booking) -> str:
    """" (your places for 3)" for a party, nothing for one person: a plain variable, so the text's pattern holds."""
    phrase = party_places_phrase(booking.party_size)
    return f" ({phrase})" if phrase else ""


def slot_context(slot: Slot) -> dict:
    """The part of a booking's message that is the same for everyone on the slot (the public district, never the
    address: room_context adds that for the people it may be shown to)."""
    session = slot.session
    return {
        "title": session.title,
        # The title as a text to a phone not proven yet gives it (code texts, a release): a host can type any number
        # into their own session's form, so that text carries no more of a host's words than this.
        "code_title": session.title,
        "when": _when(slot),
        "start_time": f"{timezone.localtime(slot.starts_at):%H:%M}",
        "bring": session.what_to_bring or gettext("a charged phone"),
        "seat": session.seat.name,
        "district": session.postcode_district,
        # The day-before reminder's deadline where the session releases places not confirmed in time.
        "confirm_by": f"{timezone.localtime(confirm_deadline(slot)):%H:%M}" if confirm_required(session) else "",
    }


def room_context(room: FrontRoomShown) -> dict:
    """The front room's part of a text, as volunteers.disclosure allowed it (empty when not shown)."""
    return {"address": room.one_line, "host": (room.host_first_name or gettext("your host")) if room.shown else ""}


@cache
def says_where(name: str) -> bool:
    """Whether templates/sms/<name>.txt carries the front room (its address or host)."""
    source = (TEMPLATE_DIR / "sms" / f"{name}.txt").read_text()
    return "{{ address }}" in source or "{{ host }}" in source


def booking_language(booking: Booking):
    """Render in the language `booking` was made in (Booking.language), wherever this runs."""
    return language_override(booking.language)


def _held_template(name: str) -> str:
    # Past the meter (volunteers.disclosure) the text says where in general and that an organiser will send it.
    # (No code text says where: the address waits for the proof.)
    return "booking_address_held"


def booking_render(name: str, booking: Booking, *, phone_locked: bool = False, language: str | None = None,
                   **extra) -> str:
    """Render templates/sms/<name>.txt about `booking`; a text that says where asks volunteers.disclosure first
    (path sms.<name>), and a room held back from the phone turns it into the held-back text. `phone_locked`: the
    caller's transaction holds the volunteer row lock (volunteers.disclosure.front_room_meter)."""
    with language_override(language or booking.language):
        return _booking_render(name, booking, phone_locked=phone_locked, **extra)


def _booking_render(name: str, booking: Booking, *, phone_locked: bool, **extra) -> str:
    context = {**booking_context(booking), **extra}
    if says_where(name):
        room = front_room_disclose(booking=booking, path=f"sms.{name}", phone_locked=phone_locked)
        context.update(room_context(room))
        if not room.shown and room.reason != Hidden.NOT_CONFIRMED:
            name = _held_template(name)
    return text_render(name, context)


# Texts that carry the address; while the host has still to approve the volunteer they say so instead.
ADDRESS_KINDS = {"booking_confirmed", "booking_promoted", "venue_moved", "reminder_day_before", "reminder_soon"}


def booking_text(*, kind: str, booking: Booking, minutes: int = 30) -> str:
    """The SMS for `kind` about `booking`; a redirect describes the new booking it points to."""
    if kind in ADDRESS_KINDS and booking.approval == Booking.Approval.PENDING:
        with booking_language(booking):
            return text_render("booking_awaiting_approval", booking_context(booking))
    if kind == "booking_redirected" and booking.redirected_to_id:
        return booking_render(kind, booking.redirected_to, old_title=booking.slot.session.title, minutes=minutes)
    return booking_render(kind, booking, minutes=minutes)


def host_session_url(session_id: int) -> str:
    """The host's own page of the session (its roster), PUBLIC_BASE_URL + /host/sessions/<id>/."""
    try:
        path = reverse("hosts:session_detail", args=[session_id])
    except NoReverseMatch:  # the pages (web) are not installed
        path = "/host/"
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def host_text(*, kind: str, booking: Booking, taken: int | str | None = None, language: str | None = None) -> str:
    """A host's text (host_booked, host_cancelled) about a booking on their session: the volunteer's first name
    only (never their number: the roster behind the link has the rest), the session, the places taken (`taken`,
    as the change left them; the loaded slot's count if not given) and the link to the session's host page; in
    `language`, else the host's (HostStanding.language)."""
    slot = booking.slot
    parts = (roster_person(booking).name or "").split()  # an unproven booking: only its typed first name
    with language_override(language or host_language(host_id=slot.session.meeting_point.host_id)):
        return text_render(kind, {
            "first_name": parts[0] if parts else gettext("A volunteer"), "title": slot.session.title,
            "when": _when(slot), "taken": slot.confirmed_count if taken is None else taken, "capacity": slot.capacity,
            "link": host_session_url(slot.session_id),
        })


def booking_texts(*, kind: str, slot: Slot, volunteer_names: list[str], manage_tokens: list[str],
                  minutes: int = 30, rooms: list[FrontRoomShown] | None = None) -> list[str]:
    """booking_text for many bookings of one slot, by volunteer name and booking manage token (not for redirects,
    whose text is about another booking). The same texts, about ten times faster: the slot's part is clipped and
    rendered once, and the template, when it is plain text and variables, becomes a str.format pattern."""
    context = {**slot_context(slot), "minutes": minutes}
    if says_where(kind):
        # Each person's room as volunteers.disclosure allowed it (front_room_disclose_slot); the held back get the
        # held-back text, one at a time (few).
        if rooms is None:
            raise ValueError(f"{kind} says where: pass the rooms volunteers.disclosure allowed")
        shown = next((room for room in rooms if room.shown), None)
        if shown is None or not all(room.shown for room in rooms):
            return [_one_text(kind, context, name, token, room)
                    for name, token, room in zip(volunteer_names, manage_tokens, rooms, strict=True)]
        context.update(room_context(shown))
    pattern = _format_pattern(kind, translation.get_language())
    people = list(zip(volunteer_names, manage_tokens, strict=True))
    if pattern is None:
        return [text_render(kind, {**context, "first_name": _first_name(name), "link": manage_url(token)})
                for name, token in people]
    plain = Context(autoescape=False)  # as text_render renders: Django's conversion of each value, no escaping
    values = _Blank({key: render_value_in_context(_clip(value, LIMITS[key]) if key in LIMITS else value, plain)
                     for key, value in context.items()})
    texts = []
    for name, token in people:
        values["first_name"] = render_value_in_context(_clip(_first_name(name), LIMITS["first_name"]), plain)
        values["link"] = render_value_in_context(manage_url(token), plain)
        texts.append(_tidy(" ".join(pattern.format_map(values).split())))
    return texts


def _one_text(kind: str, context: dict, name: str, token: str, room: FrontRoomShown) -> str:
    template = kind if room.shown or room.reason == Hidden.NOT_CONFIRMED else _held_template(kind)
    return text_render(template, {**context, **room_context(room), "first_name": _first_name(name),
                                  "link": manage_url(token)})


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""  # an unknown variable renders empty, as Engine's default string_if_invalid


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _format_pattern(name: str, language: str) -> str | None:
    """templates/sms/<name>.txt in `language` (the active one) as a str.format pattern, or None if it uses more than
    text, plain {{ names }} and a simple {% blocktranslate %}."""
    parts = []
    for node in _engine().get_template(f"sms/{name}.txt").nodelist:
        if isinstance(node, LoadNode):
            continue
        if isinstance(node, BlockTranslateNode):
            if node.plural or node.counter or node.asvar or node.extra_context or node.message_context:
                return None
            msgid, _ = node.render_token_list(node.singular)
            # As BlockTranslateNode renders: the catalogue's text with %(name)s for each variable, %% for %.
            translated = gettext(msgid).replace("{", "{{").replace("}", "}}")
            parts.append(_PLACEHOLDER.sub(r"{\1}", translated).replace("%%", "%"))
        elif isinstance(node, TextNode):
            parts.append(node.s.replace("{", "{{").replace("}", "}}"))
        elif (isinstance(node, VariableNode) and not node.filter_expression.filters
              and isinstance(node.filter_expression.var, Variable) and node.filter_expression.var.lookups is not None
              and len(node.filter_expression.var.lookups) == 1):
            parts.append("{" + node.filter_expression.var.lookups[0] + "}")
        else:
            return None
    return "".join(parts)


def challenge_text(*, challenge: PhoneChallenge, code: str, situation: str) -> str:
    """The text that carries a challenge's code: for a booking, what the phone now holds and its private link.
    No code text (nor the text releasing a place never proven) names the volunteer: the name is whatever the
    requester typed for a phone they need not hold, and would put their words in a text to a stranger. Nor does it
    carry a host's words beyond the session's title cut to LIMITS["code_title"] characters (no address, no host's
    name, no what-to-bring): anybody can post a session and book it with a stranger's number. The address waits
    for the proof, on the booking's page."""
    booking = challenge.booking
    if situation == "my_bookings":
        with language_override(challenge.language):
            return text_render("code_my_bookings", {"code": code})
    if situation == "signup" or booking is None:
        with language_override(challenge.language):
            return text_render("code_signup", {"code": code, "link": needed_url(challenge.link_token)})
    if situation == "booked_several":
        count = 1 + len(challenge.pending_details.get("also_booking_ids", []))
        return booking_render("code_booked_several", booking, phone_locked=True, language=challenge.language, code=code,
                              count=count)
    extra = {"code": code, "waitlisted": booking.status == Booking.Status.WAITLISTED}
    if situation == "already_booked":
        template = "code_already_booked"
    elif booking.status == Booking.Status.WAITLISTED:
        template = "code_waitlisted"
    elif booking.status not in (Booking.Status.CONFIRMED, Booking.Status.PENDING):
        template = "code_gone"
    elif booking.approval == Booking.Approval.PENDING:
        template = "code_booked_approval"
    else:
        template = "code_booked"
    # Written in booking_hold's transaction, which locked the volunteer row (volunteer_get_or_create).
    # In the language of the request that asked for the code (it may differ from an older booking's).
    return booking_render(template, booking, phone_locked=True, language=challenge.language, **extra)

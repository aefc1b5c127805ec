"""Every text about a booking carries the volunteer's private link, and long values (a session's title first) are
shortened at a word boundary with one GSM-7 ellipsis ("...", never "…" nor "...."), within two segments."""

import re

import pytest

from notify.sms.segments import is_gsm7, segments_count
from notify.sms.texts import (
    ELLIPSIS,
    LIMITS,
    _clip,
    booking_context,
    booking_text,
    booking_texts,
    challenge_text,
    text_render,
)
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.disclosure import front_rooms_disclose_slot
from volunteers.links import manage_url
from volunteers.models import PhoneChallenge

pytestmark = pytest.mark.django_db

TEMPLATE_KINDS = ["booking_confirmed", "booking_waitlisted", "booking_promoted", "booking_redirected",
                  "session_cancelled", "booking_cancelled", "reminder_day_before", "reminder_soon", "venue_moved",
                  "slot_rescheduled", "booking_released", "booking_approved", "booking_refused", "address_released"]
REPLY_KINDS = ["reply_ok", "reply_no", "reply_where", "reply_where_waitlisted", "booking_awaiting_approval",
               "booking_address_held"]
BULK_KINDS = ["booking_confirmed", "booking_waitlisted", "booking_promoted", "booking_cancelled", "session_cancelled",
              "reminder_day_before", "reminder_soon", "venue_moved", "slot_rescheduled"]
# Long, full of full stops, and each word longer than the last: any cut inside a word would show.
TITLE = "St. Mary's Rd. & Crookes doorstep session... Walkley, Upperthorpe, Netherthorpe and Broomhill."
LONG_BASE = "https://frontroom.example.org.uk"


def _booking(kind: str, *, title: str = TITLE):
    slot = slot_make(title=title, address="Flat 3, Ashdell Court, 127-129 Psalter Lane, Nether Edge, Sheffield",
                     what_to_bring="Comfortable shoes, a waterproof coat, a charged phone and a pen.")
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Anne-Marie Wojcik"))
    if kind == "booking_redirected":
        booking.redirected_to = booking_make(slot=slot_make(title="Sheffield Central Big Saturday at the Moor"),
                                             volunteer=volunteer_make(name="Anne-Marie Wojcik"))
    return booking


def _texts_of_every_kind(settings) -> list[tuple[str, str, str]]:
    """(kind, text, the link it must carry) for every text about a booking, by every path that writes one."""
    settings.PUBLIC_BASE_URL = LONG_BASE
    found = []
    for kind in TEMPLATE_KINDS:
        booking = _booking(kind)
        about = booking.redirected_to if kind == "booking_redirected" else booking
        found.append((kind, booking_text(kind=kind, booking=booking), manage_url(about.manage_token)))
    for kind in REPLY_KINDS:
        booking = _booking(kind)
        context = {**booking_context(booking), "others": True, "count": 12}
        found.append((kind, text_render(kind, context), manage_url(booking.manage_token)))
    slot = _booking("booking_confirmed").slot
    bookings = [booking_make(slot=slot, volunteer=volunteer_make(name=name)) for name in ("Ann Lee", "Bo Diddley")]
    for kind in BULK_KINDS:
        rooms = front_rooms_disclose_slot(slot=slot, volunteer_ids=[b.volunteer_id for b in bookings],
                                          booking_ids=[b.pk for b in bookings], path=f"sms.{kind}")
        texts = booking_texts(kind=kind, slot=slot, volunteer_names=[b.volunteer.name for b in bookings],
                              manage_tokens=[b.manage_token for b in bookings], rooms=rooms)
        found += [(f"bulk {kind}", text, manage_url(b.manage_token)) for text, b in zip(texts, bookings, strict=True)]
    for situation in ("booked", "already_booked"):
        booking = _booking("booking_confirmed")
        challenge = PhoneChallenge(booking=booking, volunteer=booking.volunteer)
        found.append((f"code {situation}", challenge_text(challenge=challenge, code="042917", situation=situation),
                      manage_url(booking.manage_token)))
    return found


def test_every_text_about_a_booking_carries_its_link_within_two_gsm7_segments(settings, locmem_sms):
    texts = _texts_of_every_kind(settings)
    assert len({kind for kind, _, _ in texts}) == len(TEMPLATE_KINDS) + len(REPLY_KINDS) + len(BULK_KINDS) + 2
    for kind, text, link in texts:
        assert link in text, (kind, text)
        count = segments_count(text)
        assert count.encoding == "GSM-7" and count.segments <= 2, (kind, count, text)


def test_only_the_texts_about_no_booking_have_no_link(settings, locmem_sms):
    settings.PUBLIC_BASE_URL = LONG_BASE
    for name, context in (("reply_help", {}), ("reply_none", {"action": "confirm"}), ("code_signup", {"code": "1"})):
        assert LONG_BASE not in text_render(name, context)


def test_a_long_title_is_cut_at_a_word_with_one_ellipsis_in_every_text(settings, locmem_sms):
    words = TITLE.split()
    for kind, text, _ in _texts_of_every_kind(settings):
        assert "...." not in text and "\u2026" not in text and is_gsm7(text), (kind, text)
        if "St. Mary's" not in text:
            continue
        shown = re.search(r"St\. Mary's.*?\.\.\.", text).group(0).removesuffix(ELLIPSIS)
        assert TITLE.startswith(shown), (kind, shown)
        # It ends where a word of the title ends (trailing punctuation left off), never inside one.
        assert any(" ".join(words[:n]).rstrip(".,&") == shown for n in range(1, len(words))), (kind, shown)


@pytest.mark.parametrize(("value", "limit", "expected"), [
    ("Saturday morning doorstep session", 34, "Saturday morning doorstep session"),  # fits: untouched
    ("Saturday morning doorstep session in Crookes", 34, "Saturday morning doorstep..."),
    ("Saturday morning doorstep.  Crookes and Walkley", 30, "Saturday morning doorstep..."),  # no "...."
    ("Crookes, Walkley, Upperthorpe and Broomhill", 24, "Crookes, Walkley..."),  # no ", ..."
    ("Walkley & Crookes together", 20, "Walkley & Crookes..."),
    ("Walkley & Crookes together", 19, "Walkley..."),  # no "& ..."
    ("Doorstep session...... in the rain", 22, "Doorstep..."),  # the word with its dots does not fit
    ("Featherstonehaugh-Smythe-Wellington", 16, "Featherstoneh..."),  # one word longer than the limit: no choice
    ("Ann", 16, "Ann"),
    ("Siân O\u2019Brien\u2026 and friends", 14, "Sian..."),  # folded to GSM-7 first
])
def test_clip_cuts_at_a_word_boundary_with_one_gsm7_ellipsis(value, limit, expected):
    clipped = _clip(value, limit)
    assert clipped == expected
    assert len(clipped) <= limit and is_gsm7(clipped) and "...." not in clipped


def test_the_limits_leave_room_for_the_ellipsis():
    assert all(limit > len(ELLIPSIS) for limit in LIMITS.values())


def test_staff_never_read_the_private_link_of_any_text(settings, locmem_sms):
    from notify.sms.models import SmsMessage
    from notify.sms.serializers import body_redacted

    settings.PUBLIC_BASE_URL = LONG_BASE
    booking = _booking("booking_confirmed")
    body = booking_text(kind="booking_confirmed", booking=booking)
    message = SmsMessage(kind="booking_confirmed", body=body, booking=booking, volunteer=booking.volunteer)
    redacted = body_redacted(message)
    assert booking.manage_token not in redacted and "/b/<private link>" in redacted
    assert "Psalter Lane" in redacted  # the rest of the text as sent

import pytest

from notify.sms.segments import gsm7_fold, segments_count
from notify.sms.texts import booking_text, text_render
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.models import Booking

pytestmark = pytest.mark.django_db

BOOKING_KINDS = ["booking_confirmed", "booking_waitlisted", "booking_promoted", "booking_redirected",
                 "session_cancelled", "booking_cancelled", "reminder_day_before", "reminder_soon", "venue_moved",
                 "slot_rescheduled"]


def test_plain_text_is_gsm7_and_counts_extension_characters_twice():
    assert segments_count("a" * 160) == segments_count("a" * 160)
    assert segments_count("a" * 160).segments == 1
    assert segments_count("a" * 161).segments == 2
    assert segments_count("€" * 80).units == 160
    assert segments_count("a" * 306).segments == 2 and segments_count("a" * 307).segments == 3


def test_one_character_outside_gsm7_switches_to_ucs2():
    count = segments_count("Hello \u2764 " + "a" * 62)
    assert count.encoding == "UCS-2" and count.segments == 1
    assert segments_count("\u2764" + "a" * 70).segments == 2


def test_accents_and_typographic_quotes_fold_to_gsm7():
    assert gsm7_fold("Siân O\u2019Connor \u2013 Łukasz") == "Sian O'Connor - Lukasz"
    assert gsm7_fold("Zoë, José") == "Zoe, José"  # é is in GSM-7 already


def _realistic_booking(kind: str) -> Booking:
    slot = slot_make(
        title="Saturday morning doorstep session \u2013 Crookes, Walkley & Upperthorpe (bring a friend!)",
        address="Flat 3, Ashdell Court, 127\u2013129 Psalter Lane, Nether Edge, Sheffield", host_first_name="Siobhán",
        what_to_bring="Comfortable shoes, a waterproof coat, a charged phone and a pen",
    )
    volunteer = volunteer_make(name="Anne-Marie Ó Súilleabháin-Wójcik")
    booking = booking_make(slot=slot, volunteer=volunteer)
    if kind == "booking_redirected":
        other = slot_make(title="Sheffield Central \u2018Big Saturday\u2019 session at the Moor",
                          address="Apartment 14, The Old Cutlery Works, 2 Sidney Street, Sheffield S1 4RH")
        booking.redirected_to = booking_make(slot=other, volunteer=volunteer_make(name="Anne-Marie Wójcik"))
    return booking


@pytest.mark.parametrize("kind", BOOKING_KINDS)
def test_every_message_stays_within_two_segments_for_realistic_data(kind, locmem_sms):
    text = booking_text(kind=kind, booking=_realistic_booking(kind))
    count = segments_count(text)
    assert count.encoding == "GSM-7", text
    assert count.segments <= 2, (count, text)


@pytest.mark.parametrize("name", ["reply_ok", "reply_no", "reply_none", "reply_help", "reply_where",
                                  "reply_where_waitlisted"])
def test_every_reply_stays_within_two_segments(name, locmem_sms):
    from notify.sms.texts import booking_context

    context = booking_context(_realistic_booking("booking_confirmed"))
    context.update(others=True, count=12, action="give up")
    count = segments_count(text_render(name, context))
    assert count.encoding == "GSM-7" and count.segments <= 2


@pytest.mark.parametrize("kind", BOOKING_KINDS)
def test_texts_are_plain_text_not_html_escaped(kind, locmem_sms):
    slot = slot_make(title="Walkley & Crookes <doorstep>", address="O'Brien's, 2 \"The\" Lane", host_first_name="D'Arcy")
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Siân O'Brien"))
    if kind == "booking_redirected":
        booking.redirected_to = booking_make(slot=slot_make(title="Hallam & Crookes", address="1 A&B Street"),
                                             volunteer=volunteer_make(name="Siân O'Brien"))
    text = booking_text(kind=kind, booking=booking)
    assert "&amp;" not in text and "&#x27;" not in text and "&lt;" not in text and "&quot;" not in text, text
    assert "&" in text or "'" in text, text


@pytest.mark.parametrize("kind", ["booking_released", "booking_approved", "booking_refused"])
def test_the_identity_and_approval_texts_stay_within_two_segments(kind, locmem_sms):
    text = booking_text(kind=kind, booking=_realistic_booking("booking_confirmed"))
    count = segments_count(text)
    assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)


@pytest.mark.parametrize("situation", ["booked", "approval", "waitlisted", "already_booked", "gone", "signup"])
def test_every_code_text_carries_the_code_and_link_within_two_segments(situation, locmem_sms, settings):
    from notify.sms.texts import challenge_text
    from volunteers.links import manage_url, needed_url
    from volunteers.models import PhoneChallenge, new_manage_token

    settings.PUBLIC_BASE_URL = "https://frontroom.example.org.uk"
    booking = _realistic_booking("booking_confirmed")
    booking.status = {"waitlisted": "waitlisted", "gone": "cancelled"}.get(situation, "confirmed")
    booking.approval = "pending" if situation == "approval" else "not_required"
    challenge = PhoneChallenge(booking=None if situation == "signup" else booking, volunteer=booking.volunteer,
                               link_token=new_manage_token() if situation == "signup" else "")
    text = challenge_text(challenge=challenge, code="042917",
                          situation=situation if situation in ("already_booked", "signup") else "booked")
    count = segments_count(text)
    assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)
    assert "042917" in text
    if situation == "signup":  # the sign-up's own page, to change the choices or stop
        assert needed_url(challenge.link_token) in text
    else:
        assert manage_url(booking.manage_token) in text
        assert "Psalter Lane" not in text  # the address waits for the proof: a code text may reach a stranger


def test_a_text_to_a_phone_not_proven_carries_no_more_of_the_hosts_words_than_a_short_title(locmem_sms):
    from notify.sms.texts import challenge_text
    from volunteers.models import PhoneChallenge

    booking = _realistic_booking("booking_confirmed")
    challenge = PhoneChallenge(booking=booking, volunteer=booking.volunteer)
    texts = [challenge_text(challenge=challenge, code="042917", situation=situation)
             for situation in ("booked", "already_booked")]
    texts.append(booking_text(kind="booking_released", booking=booking))
    for text in texts:
        assert "Saturday morning..." in text  # the title cut to 24 characters, at a word, with an ellipsis
        for words in ("doorstep", "Crookes", "Psalter", "Siob", "Comfortable", "Anne"):
            assert words not in text, text

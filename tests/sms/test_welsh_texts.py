"""Texts in the language the volunteer booked in (docs/languages.md): rendered by workers and beat tasks outside any
request, in Welsh for a Welsh booking and English beside it, within the same two GSM-7 segments."""

from datetime import datetime, timedelta

import pytest
from django.utils import dateformat, timezone, translation

from notify.sms import services
from notify.sms.models import SmsMessage
from notify.sms.segments import segments_count
from notify.sms.services.replies import inbound_handle
from notify.sms.texts import booking_text, challenge_text, text_render
from tests.sms.factories import booking_make, slot_make, volunteer_make
from tests.sms.test_texts import BOOKING_KINDS, _realistic_booking
from volunteers.models import Booking, PhoneChallenge

pytestmark = pytest.mark.django_db


def _welsh(booking: Booking) -> Booking:
    Booking.objects.filter(pk=booking.pk).update(language="cy")
    booking.language = "cy"
    if booking.redirected_to_id:
        Booking.objects.filter(pk=booking.redirected_to_id).update(language="cy")
        booking.redirected_to.language = "cy"
    return booking


def test_a_booking_made_in_welsh_keeps_its_language_and_one_in_english_too(locmem_sms):
    slot = slot_make()
    with translation.override("cy"):
        welsh = booking_make(slot=slot)
    english = booking_make(slot=slot)
    assert (welsh.language, english.language) == ("cy", "en-gb")
    assert Booking.objects.get(pk=welsh.pk).language == "cy"


@pytest.mark.parametrize("kind", [*BOOKING_KINDS, "booking_released", "booking_approved", "booking_refused"])
def test_every_welsh_text_is_welsh_and_stays_within_two_gsm7_segments(kind, locmem_sms):
    booking = _welsh(_realistic_booking(kind))
    assert translation.get_language() == "en-gb"  # as in a worker: nothing activated Welsh
    text = booking_text(kind=kind, booking=booking)
    count = segments_count(text)
    # Welsh letters such as ŵ, ŷ and â fold to w, y and a (notify.sms.segments.gsm7_fold): UCS-2 would cut a
    # segment to 70 characters, and a text to a third of what it may say.
    assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)
    english = booking_text(kind=kind, booking=_realistic_booking(kind))
    assert text != english and "/b/" in text
    assert translation.get_language() == "en-gb"  # and nothing is left activated after it


def test_the_welsh_confirmation_names_the_day_in_welsh(locmem_sms):
    booking = _welsh(_realistic_booking("booking_confirmed"))
    text = booking_text(kind="booking_confirmed", booking=booking)
    assert "mae gennych le ar" in text and "Atebwch OK i gadarnhau" in text
    day = timezone.localtime(booking.slot.starts_at)
    with translation.override("cy"):
        welsh_day = dateformat.format(day, "D d M")
    assert welsh_day in text and welsh_day != dateformat.format(day, "D d M")  # "Sad 12 Rhag", not "Sat 12 Dec"


@pytest.mark.parametrize("situation", ["booked", "waitlisted", "already_booked", "signup", "my_bookings",
                                       "booked_several"])
def test_the_code_text_is_in_the_language_of_the_request_that_asked_for_it(situation, locmem_sms):
    booking = _realistic_booking("booking_confirmed")  # an English booking asked about again in Welsh
    booking.status = "waitlisted" if situation == "waitlisted" else "confirmed"
    several = {"also_booking_ids": [booking.pk + 1, booking.pk + 2]} if situation == "booked_several" else {}
    challenge = PhoneChallenge(booking=None if situation in ("signup", "my_bookings") else booking,
                               volunteer=booking.volunteer, language="cy", pending_details=several,
                               link_token="a" * 32 if situation == "signup" else "")
    text = challenge_text(challenge=challenge, code="042917",
                          situation="booked" if situation == "waitlisted" else situation)
    assert text.startswith("Cod Frontroom 042917.")
    assert translation.get_language() == "en-gb"
    count = segments_count(text)
    assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)


@pytest.mark.parametrize("name", ["reply_ok", "reply_no", "reply_none", "reply_help", "reply_where",
                                  "reply_where_waitlisted"])
def test_every_welsh_reply_stays_within_two_segments(name, locmem_sms):
    from notify.sms.texts import booking_context

    context = booking_context(_realistic_booking("booking_confirmed"))
    context.update(others=True, count=12, action="give_up")
    with translation.override("cy"):
        text = text_render(name, context)
    count = segments_count(text)
    assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)


def _local(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


@pytest.mark.django_db(transaction=True)
def test_the_reminder_task_texts_each_volunteer_in_the_language_they_booked_in(locmem_sms):
    day = timezone.localdate() + timedelta(days=3)
    slot = slot_make(starts_in=_local(day, 14) - timezone.now())
    with translation.override("cy"):
        welsh = booking_make(slot=slot)
    english = booking_make(slot=slot)
    # The beat task's body, as a worker runs it: no request, no language activated.
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 11)) == 2
    texts = dict(SmsMessage.objects.filter(kind="reminder_day_before").values_list("booking_id", "body"))
    assert texts[welsh.pk].startswith("Nodyn atgoffa Frontroom:") and "Atebwch OK" in texts[welsh.pk]
    assert texts[english.pk].startswith("Frontroom reminder:")


@pytest.mark.django_db(transaction=True)
def test_a_reply_is_in_the_language_of_the_phones_latest_booking_and_welsh_keywords_work(locmem_sms):
    volunteer = volunteer_make()
    with translation.override("cy"):
        booking = booking_make(slot=slot_make(), volunteer=volunteer)
    answer = inbound_handle(from_phone=volunteer.phone, body="help")
    assert answer.startswith("Frontroom: atebwch WHERE")
    assert "(gwesteiwr " in inbound_handle(from_phone=volunteer.phone, body="Ble?")  # WHERE, in Welsh
    answer = inbound_handle(from_phone=volunteer.phone, body="Na")  # NO, in Welsh
    assert answer.startswith(f"Iawn {volunteer.name.split()[0]}: rydych wedi ildio")
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CANCELLED
    assert inbound_handle(from_phone=volunteer_make().phone, body="help").startswith("Frontroom: reply WHERE")


@pytest.mark.django_db(transaction=True)
def test_a_hosts_text_is_in_the_hosts_language_not_the_volunteers(locmem_sms):
    from notify.sms.texts import host_text
    from sessions.hosts import host_language_set

    slot = slot_make()
    with translation.override("cy"):
        booking = booking_make(slot=slot)
    host = slot.session.meeting_point.host
    assert host_text(kind="host_booked", booking=booking).startswith("Frontroom: Jo booked")
    host_language_set(host=host, language="cy")
    assert host_text(kind="host_booked", booking=booking).startswith("Frontroom: archebodd Jo")


def test_the_fast_bulk_texts_say_in_welsh_exactly_what_one_text_says(locmem_sms):
    from notify.sms.texts import booking_texts
    from volunteers.disclosure import front_rooms_disclose_slot

    slot = slot_make(title="A {braced} title & 100% more", what_to_bring="")
    names = ["D'Arcy O'Brien", "", "Siân Wyn"]
    volunteers = [volunteer_make(name=name) for name in names]
    bookings = [Booking(volunteer=v, slot=slot, status=Booking.Status.CONFIRMED, language="cy") for v in volunteers]
    for kind in ("booking_confirmed", "booking_waitlisted", "reminder_soon", "session_cancelled"):
        rooms = front_rooms_disclose_slot(slot=slot, volunteer_ids=[v.pk for v in volunteers],
                                          booking_ids=[None] * len(volunteers), path=f"sms.{kind}")
        with translation.override("cy"):  # as the outbox groups them: one language a group
            fast = booking_texts(kind=kind, slot=slot, volunteer_names=names,
                                 manage_tokens=[b.manage_token for b in bookings], minutes=45, rooms=rooms)
        assert fast == [booking_text(kind=kind, booking=b, minutes=45) for b in bookings]
        english = Booking(volunteer=volunteers[0], slot=slot, status=Booking.Status.CONFIRMED, language="en-gb",
                          manage_token=bookings[0].manage_token)
        assert fast[0] != booking_text(kind=kind, booking=english, minutes=45)  # Welsh, not English

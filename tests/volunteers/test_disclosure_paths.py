"""Every path that shows or sends a front room goes through volunteers.disclosure: with no allowance the address,
host's first name and turf appear nowhere (page, API, texts, email, .ics, feed, webhook); with the default they
do (so each check would see them)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.factories import PostcodeFactory, booking_ask, texted_code
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.models import Booking, BookingEvent, FrontRoomHold

pytestmark = pytest.mark.django_db

ADDRESS, HOST, TURF = "27 Psalter Lane", "Aisha", "Odd numbers on Psalter Close"


@pytest.fixture(params=["none", "default"])
def allowance(request, settings):
    """'none': no front room may be shown (DISCLOSURE_MAX_ROOMS_PER_DAY=0); 'default': the first is."""
    if request.param == "none":
        settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    return request.param


def _slot():
    slot = slot_make()
    Slot.objects.filter(pk=slot.pk).update(turf=TURF)
    slot.turf = TURF
    return slot


def _booking(**extra) -> Booking:
    booking = booking_make(slot=_slot(), **extra)
    return Booking.objects.select_related("volunteer", "slot__session__meeting_point", "slot__session__seat").get(
        pk=booking.pk)


def _check(text: str, allowance: str, *, turf: bool = True, host: bool = True) -> None:
    if allowance == "none":
        assert ADDRESS not in text and HOST not in text and TURF not in text, text
    else:
        assert ADDRESS in text, text
        if host:
            assert HOST in text, text
        if turf:
            assert TURF in text, text


def test_the_booking_page(allowance):
    booking = _booking()
    page = Client().get(f"/b/{booking.manage_token}", HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Safari/604.1")
    assert page.status_code == 200
    _check(page.content.decode(), allowance)
    if allowance == "none":
        assert "An organiser will check and send" in page.content.decode()


def test_the_api_booking(allowance):
    booking = _booking()
    answer = APIClient().get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT="Mozilla/5.0 Safari/604.1")
    assert answer.status_code == 200
    _check(answer.content.decode(), allowance)
    assert answer.json()["address_held"] is (allowance == "none")


def test_the_confirmation_text(allowance, locmem_sms):
    booking = _booking()
    [text] = SmsMessage.objects.filter(booking=booking, kind="booking_confirmed").values_list("body", flat=True)
    _check(text, allowance, turf=False)


def test_the_code_text_and_the_proven_api_answer(allowance, locmem_sms, settings):
    slot = _slot()
    PostcodeFactory(postcode="S11 8UX", seat=slot.session.seat)
    challenge = booking_ask(slot_id=slot.pk, name="Ann", phone="+447400999111", postcode="S11 8UX")
    [code_text] = SmsMessage.objects.filter(challenge=challenge).values_list("body", flat=True)
    # Whatever the allowance: a code text goes to a phone not proven yet, so the room waits for the proof.
    _check(code_text, "none")
    proven = APIClient().post(f"/api/challenges/{challenge.token}/verify/", {"code": texted_code(challenge.token)},
                              format="json")
    assert proven.status_code == 200
    _check(proven.content.decode(), allowance)


def test_the_reminders_written_in_bulk(allowance, locmem_sms):
    from notify.sms.services.outbox import MessageKey, messages_record_bulk

    booking = _booking()
    messages_record_bulk(keys=[MessageKey(booking.pk, "reminder_day_before", booking.version)])
    [text] = SmsMessage.objects.filter(booking=booking, kind="reminder_day_before").values_list("body", flat=True)
    _check(text, allowance, turf=False)


def test_the_where_reply(allowance, locmem_sms):
    from notify.sms.services.replies import inbound_handle

    booking = _booking()
    _check(inbound_handle(from_phone=booking.volunteer.phone, body="where"), allowance, turf=False)


def test_the_email_and_its_calendar(allowance):
    from notify.email.services.content import booking_rendered

    booking = _booking()
    rendered = booking_rendered(booking=booking, kind="booking_confirmed", unsubscribe="https://example.org/u")
    _check(rendered.text, allowance)
    _check(rendered.html, allowance)
    _check(rendered.calendar.decode().replace("\r\n ", ""), allowance, turf=False, host=False)


def test_the_calendar_file(allowance):
    booking = _booking()
    answer = Client().get(f"/b/{booking.manage_token}/calendar.ics", HTTP_USER_AGENT="Mozilla/5.0 Safari/604.1")
    assert answer.status_code == 200
    _check(answer.content.decode().replace("\r\n ", ""), allowance, turf=False, host=False)


def test_the_calendar_feed(allowance):
    from volunteers.feeds import volunteer_feed_calendar

    booking = _booking()
    _check(volunteer_feed_calendar(volunteer=booking.volunteer).decode().replace("\r\n ", ""), allowance, turf=False, host=False)


def test_webhooks_never_carry_the_front_room(allowance):
    from notify.webhooks.payloads import payload_render, proven_payload_render

    booking = _booking()
    event = BookingEvent.objects.filter(booking=booking).first()
    for body in (payload_render(event), proven_payload_render(booking)):
        assert ADDRESS not in body and HOST not in body and TURF not in body


def test_a_held_room_opens_one_alert_whatever_the_paths(settings, locmem_sms):
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    booking = _booking()
    Client().get(f"/b/{booking.manage_token}", HTTP_USER_AGENT="Mozilla/5.0 Safari/604.1")
    APIClient().get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT="Mozilla/5.0 Safari/604.1")
    assert FrontRoomHold.objects.filter(volunteer=booking.volunteer, released_at__isnull=True).count() == 1


def test_a_room_assigned_by_a_coordinator_run_is_shown_without_the_meter(settings, locmem_sms):
    from volunteers.disclosure import front_rooms_disclose_slot

    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    slot = _slot()
    volunteers = [volunteer_make(), volunteer_make()]
    rooms = front_rooms_disclose_slot(slot=slot, volunteer_ids=[v.pk for v in volunteers], booking_ids=[None, None],
                                      path="sms.booking_confirmed", assigned=True)
    assert all(room.shown for room in rooms)
    unassigned = front_rooms_disclose_slot(slot=slot, volunteer_ids=[volunteer_make().pk], booking_ids=[None],
                                           path="sms.booking_confirmed")
    assert not unassigned[0].shown and unassigned[0].held

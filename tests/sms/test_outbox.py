from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notify.sms import services
from notify.sms.models import SmsMessage
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db(transaction=True)


def broker_down():
    """Nothing listens on port 1: every on-commit enqueue fails, as with Redis down at commit time."""
    return broker("redis://127.0.0.1:1/0")


def test_booking_writes_its_message_in_the_same_transaction_and_sends_it_on_commit(
        locmem_sms, django_capture_on_commit_callbacks):
    slot = slot_make()
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_make(slot=slot)
    message = SmsMessage.objects.get(booking=booking)
    assert message.kind == "booking_confirmed" and message.status == "queued" and message.twilio_sid
    assert [m["body"] for m in locmem_sms] == [message.body]
    assert "27 Psalter Lane" in message.body and "Aisha" in message.body and "Reply OK" in message.body


@pytest.mark.parametrize(("flags", "reason"), [
    ({"sms_opted_out": True}, "opted_out"), ({"phone_invalid": True}, "phone_invalid"),
    ({"consent_sms": False}, "no_consent"),
])
def test_volunteers_who_cannot_be_texted_get_a_skipped_row_and_no_sms(locmem_sms, flags, reason):
    booking = booking_make(slot=slot_make(), volunteer=volunteer_make(**flags))
    message = SmsMessage.objects.get(booking=booking)
    assert (message.status, message.skip_reason) == ("skipped", reason)
    assert locmem_sms == []


def test_a_volunteer_who_opts_out_before_the_send_is_not_texted(locmem_sms):
    with broker_down():
        booking = booking_make(slot=slot_make())
    booking.volunteer.sms_opted_out = True
    booking.volunteer.save()
    message = SmsMessage.objects.get(booking=booking)
    assert services.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert (message.status, message.skip_reason) == ("skipped", "opted_out") and locmem_sms == []


def test_waitlisted_promoted_and_cancelled_each_get_their_message(locmem_sms):
    slot = slot_make(capacity=1)
    first = booking_make(slot=slot)
    second = booking_make(slot=slot)
    assert second.status == "waitlisted"
    booking_cancel(manage_token=first.manage_token)  # eager: the async handler promotes the waitlist
    kinds = sorted(SmsMessage.objects.values_list("kind", flat=True))
    assert kinds == ["booking_cancelled", "booking_confirmed", "booking_promoted", "booking_waitlisted"]
    assert len(locmem_sms) == 4


def test_a_redirect_describes_the_new_slot(locmem_sms):
    old_slot = slot_make(title="Hallam Saturday", capacity=1)
    new_slot = slot_make(title="Sheffield Central Saturday", address="9 Division Street, Sheffield",
                         host_first_name="Tom")
    booking_make(slot=old_slot)
    waiting = booking_make(slot=old_slot)
    moved = booking_make(slot=new_slot, volunteer=waiting.volunteer)
    with transaction.atomic():
        waiting.status, waiting.redirected_to, waiting.version = "redirected", moved, waiting.version + 1
        waiting.save()
        booking_event_record(booking=waiting, kind=BookingEvent.Kind.REDIRECTED)
    message = SmsMessage.objects.get(booking=waiting, kind="booking_redirected")
    assert "Hallam Saturday is full" in message.body
    assert "9 Division Street" in message.body and "host Tom" in message.body


def test_a_moved_front_room_is_texted_to_everyone_confirmed_there_and_stale_texts_are_dropped(locmem_sms, settings):
    from datetime import time
    from unittest import mock

    from sessions.models import MeetingPoint
    from sessions.services import meeting_point_update

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)
    slot = slot_make(capacity=1, address="27 Psalter Lane, Sheffield", title="Saturday doors")
    coming = booking_make(slot=slot, volunteer=volunteer_make(name="Priya Shah"))
    waiting = booking_make(slot=slot)
    finished = slot_make(starts_in=timedelta(days=3))
    finished_booking = booking_make(slot=finished)
    # A reminder with the old address is still waiting in the queue.
    with mock.patch("notify.sms.services.outbox.message_enqueue"), transaction.atomic():
        stale = services.message_record(booking=coming, kind="reminder_soon", version=coming.version)
    point = MeetingPoint.objects.get(pk=slot.session.meeting_point_id)
    sent_before = len(locmem_sms)

    meeting_point_update(user=point.host, meeting_point=point, address="4 Crookes Road, Sheffield")

    coming.refresh_from_db()
    assert coming.version == 2 and coming.status == "confirmed"
    moved = SmsMessage.objects.get(booking=coming, kind="venue_moved")
    assert "Priya, Saturday doors" in moved.body and "4 Crookes Road" in moved.body and "Psalter" not in moved.body
    assert moved.status == "queued" and moved.segments <= 2
    assert not SmsMessage.objects.filter(booking=waiting, kind="venue_moved").exists()  # never had the address
    assert not SmsMessage.objects.filter(booking=finished_booking, kind="venue_moved").exists()  # another room
    assert [m["body"] for m in locmem_sms[sent_before:]] == [moved.body]
    assert services.message_send(message_id=stale.pk) == "skipped"
    stale.refresh_from_db()
    assert stale.skip_reason == "booking_changed"

    sent_before = len(locmem_sms)
    meeting_point_update(user=point.host, meeting_point=point, capacity=20, accessibility_notes="Ramp at the back")
    assert len(locmem_sms) == sent_before and Booking.objects.get(pk=coming.pk).version == 2


def test_reminders_after_a_move_carry_the_new_address(locmem_sms, settings):
    from datetime import time

    from sessions.models import MeetingPoint
    from sessions.services import meeting_point_update

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)  # whatever the time of day

    slot = slot_make(starts_in=timedelta(hours=3), address="27 Psalter Lane, Sheffield")
    booking = booking_make(slot=slot)
    point = MeetingPoint.objects.get(pk=slot.session.meeting_point_id)
    meeting_point_update(user=point.host, meeting_point=point, address="4 Crookes Road, Sheffield")
    BookingEvent.objects.filter(booking=booking).update(created_at=timezone.now() - timedelta(hours=1))

    assert services.reminders_enqueue_due(now=slot.starts_at - timedelta(minutes=20)) == 1
    reminder = SmsMessage.objects.get(booking=booking, kind="reminder_soon")
    assert reminder.version == 2 and "4 Crookes Road" in reminder.body

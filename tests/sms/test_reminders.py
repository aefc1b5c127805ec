from datetime import datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notify.sms import services
from notify.sms.models import SmsMessage
from tests.sms.factories import booking_make, slot_make
from volunteers.models import BookingEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _local(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute))


@pytest.fixture
def slot_day_after_tomorrow_plus_one(locmem_sms):
    """A slot at 14:00 local three days from now, booked now (well before any reminder moment)."""
    day = timezone.localdate() + timedelta(days=3)
    slot = slot_make(starts_in=_local(day, 14) - timezone.now())
    return day, booking_make(slot=slot)


def _reminders(kind: str) -> int:
    return SmsMessage.objects.filter(kind=kind).count()


def test_the_day_before_reminder_goes_from_eleven_once(slot_day_after_tomorrow_plus_one, locmem_sms):
    day, booking = slot_day_after_tomorrow_plus_one
    eve = day - timedelta(days=1)
    assert services.reminders_enqueue_due(now=_local(eve, 10, 55)) == 0
    assert services.reminders_enqueue_due(now=_local(eve, 11, 5)) == 1
    assert services.reminders_enqueue_due(now=_local(eve, 11, 10)) == 0
    message = SmsMessage.objects.get(kind="reminder_day_before")
    assert message.booking == booking and "Reply OK" in message.body


def test_a_reminder_whose_send_falls_in_quiet_hours_is_not_sent(slot_day_after_tomorrow_plus_one, settings, locmem_sms):

    _, booking = slot_day_after_tomorrow_plus_one
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59)  # always quiet now
    with transaction.atomic():
        services.message_record(booking=booking, kind="reminder_day_before", version=booking.version)
    message = SmsMessage.objects.get(kind="reminder_day_before")
    assert (message.status, message.skip_reason) == ("skipped", "quiet_hours")
    assert [m["body"] for m in locmem_sms] == [SmsMessage.objects.get(kind="booking_confirmed").body]

def test_the_reminder_time_is_configurable(slot_day_after_tomorrow_plus_one, settings):

    settings.SMS_REMINDER_DAY_BEFORE_AT = time(16, 30)
    day, _ = slot_day_after_tomorrow_plus_one
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 16, 0)) == 0
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 16, 35)) == 1


def test_no_reminders_in_quiet_hours(slot_day_after_tomorrow_plus_one):
    day, _ = slot_day_after_tomorrow_plus_one
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 21, 30)) == 0
    assert services.reminders_enqueue_due(now=_local(day, 8, 55)) == 0
    assert not SmsMessage.objects.filter(kind__startswith="reminder").exists()


def test_a_volunteer_booked_after_the_reminder_time_gets_no_day_before_reminder(slot_day_after_tomorrow_plus_one):
    day, booking = slot_day_after_tomorrow_plus_one
    BookingEvent.objects.filter(booking=booking).update(created_at=_local(day - timedelta(days=1), 15))
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 16)) == 0


def test_the_soon_reminder_goes_thirty_minutes_before_unless_booked_later(slot_day_after_tomorrow_plus_one):
    day, booking = slot_day_after_tomorrow_plus_one
    assert services.reminders_enqueue_due(now=_local(day, 13, 20)) == 0
    assert services.reminders_enqueue_due(now=_local(day, 13, 32)) == 1
    assert services.reminders_enqueue_due(now=_local(day, 13, 37)) == 0
    message = SmsMessage.objects.get(kind="reminder_soon")
    assert "starts at 14:00, in about 30 minutes" in message.body
    SmsMessage.objects.all().delete()
    BookingEvent.objects.filter(booking=booking).update(created_at=_local(day, 13, 40))
    assert services.reminders_enqueue_due(now=_local(day, 13, 45)) == 0


def test_the_beat_tasks_are_registered_under_their_scheduled_names():
    from celery_app import app

    app.loader.import_default_modules()
    assert {"sms.outbox_sweep", "sms.reminders_enqueue_due", "sms.message_send"} <= set(app.tasks)


def test_reminders_are_written_in_bulk_with_the_texts_a_single_write_gives(locmem_sms, never_quiet, monkeypatch,
                                                                           settings):
    from notify import reminders as reminders_module
    from notify.sms.texts import booking_text
    from tests.sms.factories import volunteer_make

    monkeypatch.setattr(reminders_module, "REMINDER_CHUNK", 4)  # several chunks, each its own transaction
    settings.SMS_REMINDER_WINDOW_END = settings.SMS_REMINDER_WINDOW_START = time(17)  # no window: sent as written
    day = timezone.localdate() + timedelta(days=3)
    bookings = []
    for hour, title in ((10, "Crookes doorstep"), (14, "Walkley streets, Ève's group"), (17, "Evening phone bank")):
        slot = slot_make(starts_in=_local(day, hour) - timezone.now(), title=title)
        bookings += [booking_make(slot=slot, volunteer=volunteer_make(name=f"Zoë Number{i}")) for i in range(4)]
    opted_out = bookings[5].volunteer
    opted_out.sms_opted_out = True
    opted_out.save(update_fields=["sms_opted_out"])
    sent_before = len(locmem_sms)

    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 11, 5)) == 12
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 11, 10)) == 0

    reminders = {m.booking_id: m for m in SmsMessage.objects.filter(kind="reminder_day_before")}
    assert set(reminders) == {b.pk for b in bookings}
    for booking in bookings:
        message = reminders[booking.pk]
        assert message.body == booking_text(kind="reminder_day_before", booking=booking)
        assert (message.version, message.to) == (booking.version, booking.volunteer.phone)
    assert (reminders[bookings[5].pk].status, reminders[bookings[5].pk].skip_reason) == ("skipped", "opted_out")
    sent = [m["body"] for m in locmem_sms[sent_before:]]
    assert sorted(sent) == sorted(m.body for m in reminders.values() if m.status != "skipped")
    assert SmsMessage.objects.filter(kind="reminder_day_before", status="pending").count() == 0


def test_a_reminder_for_a_booking_cancelled_while_it_waited_is_not_sent(slot_day_after_tomorrow_plus_one,
                                                                          locmem_sms, never_quiet):
    from unittest import mock

    from volunteers.services import booking_cancel

    _, booking = slot_day_after_tomorrow_plus_one
    other = booking_make(slot=booking.slot)
    with mock.patch("notify.sms.services.outbox.message_enqueue"), transaction.atomic():  # queued, not sent yet
        waiting = [services.message_record(booking=b, kind="reminder_soon", version=b.version) for b in (booking, other)]
    booking_cancel(manage_token=booking.manage_token)
    sent_before = len(locmem_sms)

    assert services.message_send(message_id=waiting[0].pk) == "skipped"
    assert services.message_send(message_id=waiting[1].pk) == "sent"
    waiting[0].refresh_from_db()
    assert (waiting[0].status, waiting[0].skip_reason) == ("skipped", "booking_changed")
    assert [m["body"] for m in locmem_sms[sent_before:]] == [waiting[1].body]


def test_no_reminder_for_an_unproven_place_or_one_the_host_has_still_to_approve(slot_day_after_tomorrow_plus_one):
    from volunteers.models import Booking

    day, booking = slot_day_after_tomorrow_plus_one
    unproven = booking_make(slot=booking.slot, proven=False)
    waiting = booking_make(slot=booking.slot)
    Booking.objects.filter(pk=waiting.pk).update(approval=Booking.Approval.PENDING)
    assert services.reminders_enqueue_due(now=_local(day - timedelta(days=1), 11, 5)) == 1
    assert list(SmsMessage.objects.filter(kind="reminder_day_before").values_list("booking", flat=True)) == [booking.pk]
    assert unproven.pk != booking.pk

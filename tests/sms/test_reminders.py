from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from dispatch.sms import services
from dispatch.sms.models import SmsMessage
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
    from datetime import time

    _, booking = slot_day_after_tomorrow_plus_one
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59)  # always quiet now
    with transaction.atomic():
        services.message_record(booking=booking, kind="reminder_day_before", version=booking.version)
    message = SmsMessage.objects.get(kind="reminder_day_before")
    assert (message.status, message.skip_reason) == ("skipped", "quiet_hours")
    assert [m["body"] for m in locmem_sms] == [SmsMessage.objects.get(kind="booking_confirmed").body]


def test_the_reminder_time_is_configurable(slot_day_after_tomorrow_plus_one, settings):
    from datetime import time

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

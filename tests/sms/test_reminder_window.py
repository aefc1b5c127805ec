"""Reminders that fit the sender: the day-before texts spread across the evening window at the sender's capacity,
never sent after their latest useful time nor into quiet hours, and Twilio told the same (ValidityPeriod)."""

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from notify.sms import services
from notify.sms.models import SmsMessage
from notify.sms.services import reminder_window
from notify.sms.services.reminder_window import reminder_plan_summary, reminders_release
from tests.sms.factories import booking_make, slot_make, volunteer_make

pytestmark = pytest.mark.django_db(transaction=True)

DAY_BEFORE = "reminder_day_before"


def _local(day, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


class Clock:
    """timezone.now() as the test sets it: every service, model default and send in this process reads it."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture(autouse=True)
def plan_state_forgotten():
    """The release horizon, the plan's rate and the measured rate live in the shared cache: every test starts
    without them (tests/conftest.py empties the same Redis database for the rate limits; this says it here too)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def evening(settings, locmem_sms):
    """Bookings on three slots the day after tomorrow's tomorrow, booked now (before any reminder moment), the
    17:00 slot's first: (the eve, bookings by slot start). Quiet hours 21:00 to 09:00, the window 17:00 to 20:00."""
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(21), time(9)
    settings.SMS_REMINDER_WINDOW_START, settings.SMS_REMINDER_WINDOW_END = time(17), time(20)
    day = timezone.localdate() + timedelta(days=3)
    by_start = {}
    for hour in (17, 10, 14):  # made out of order: the plan goes by the slot's start, not the row's id
        slot = slot_make(starts_in=_local(day, hour) - timezone.now())
        by_start[hour] = [booking_make(slot=slot, volunteer=volunteer_make()) for _ in range(3)]
    return day - timedelta(days=1), [b for hour in sorted(by_start) for b in by_start[hour]]


def _planned() -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(kind=DAY_BEFORE).order_by("send_after", "id"))


def test_day_before_reminders_are_spread_across_the_window_at_the_senders_capacity(evening, settings, monkeypatch,
                                                                                 locmem_sms):
    eve, bookings = evening
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 2
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    sent_before = len(locmem_sms)

    assert services.reminders_enqueue_due() == 9
    planned = _planned()
    assert [m.booking_id for m in planned] == [b.pk for b in bookings]  # soonest slot first
    assert planned[0].send_after == _local(eve, 17)
    assert max(Counter(m.send_after for m in planned).values()) == 2  # never more a second than the sender takes
    assert planned[-1].send_after == _local(eve, 17, 0, 4)
    assert {m.send_by for m in planned} == {_local(eve, 20)}
    assert all(m.next_attempt_at == m.send_after and m.status == "pending" for m in planned)
    assert len(locmem_sms) == sent_before  # nothing sent at 11:05

    # A later beat run (a booking whose reminder was not written yet) continues the plan after its last second.
    late = booking_make(slot=bookings[0].slot, volunteer=volunteer_make())
    clock.set(_local(eve, 11, 10))
    late.events.update(created_at=_local(eve, 10))
    assert services.reminders_enqueue_due() == 1
    assert SmsMessage.objects.get(booking=late, kind=DAY_BEFORE).send_after == _local(eve, 17, 0, 5)


def test_the_release_hands_over_each_reminder_a_countdown_to_its_second_and_it_goes_then(evening, settings,
                                                                                        monkeypatch, locmem_sms):
    eve, bookings = evening
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 1
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    services.reminders_enqueue_due()
    planned = _planned()

    clock.set(_local(eve, 16, 59, 30))
    handed = []
    result = reminders_release(enqueue=lambda row_id, countdown: handed.append((row_id, countdown)))
    # The next minute's: 17:00:00 to 17:00:29, one a second, each with the countdown to its second.
    assert result["released"] == 9 and result["dropped"] == 0
    assert handed == [(m.pk, 30.0 + index) for index, m in enumerate(planned)]
    # Run again in the same minute: nothing is handed over twice.
    assert reminders_release(enqueue=lambda row_id, countdown: handed.append((row_id, countdown)))["released"] == 0

    # Handed over early (a countdown lost), a row is not sent before its second; at its second it is, and Twilio
    # is told to drop it rather than deliver it after the window's end.
    assert services.message_send(message_id=planned[0].pk) == "not_due"
    clock.set(_local(eve, 17, 0, 0))
    assert services.message_send(message_id=planned[0].pk) == "sent"
    sent = locmem_sms[-1]
    assert sent["body"] == planned[0].body
    assert sent["validity_period"] == 3 * 3600


def test_reminders_that_do_not_fit_are_shown_before_the_window_and_dropped_late_never_sent(evening, settings,
                                                                                         monkeypatch, locmem_sms,
                                                                                         client):
    eve, bookings = evening
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 1
    settings.SMS_REMINDER_WINDOW_END = time(17, 0, 4)  # room for four
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    services.reminders_enqueue_due()

    plan = reminder_plan_summary()
    assert (plan["total"], plan["wont_fit"], plan["state"], plan["fit"]) == (9, 5, "before", 4)
    assert plan["finish"] == _local(eve, 17, 0, 4) and plan["by_second_max"] == 1

    clock.set(_local(eve, 16, 59, 30))
    handed = []
    assert reminders_release(enqueue=lambda row_id, countdown: handed.append(row_id))["released"] == 4
    clock.set(_local(eve, 17, 0, 1))
    for row_id in handed[:2]:
        assert services.message_send(message_id=row_id) == "sent"
    sent_before = len(locmem_sms)

    # The window ends with two handed over but not sent (a slow worker) and five that never fitted.
    clock.set(_local(eve, 17, 0, 4))
    assert services.message_send(message_id=handed[2]) == "skipped"  # claimed at the end: too late, not sent
    assert reminders_release(enqueue=lambda row_id, countdown: None)["dropped"] == 6
    assert len(locmem_sms) == sent_before
    rows = SmsMessage.objects.filter(kind=DAY_BEFORE)
    assert Counter((m.status, m.skip_reason) for m in rows) == {("queued", ""): 2, ("skipped", "dropped_late"): 7}
    plan = reminder_plan_summary()
    assert (plan["state"], plan["accepted"], plan["dropped_late"], plan["waiting"], plan["failed"]) == (
        "after", 2, 7, 0, 0)


def test_the_window_never_reaches_into_quiet_hours_and_a_backlog_waits_for_no_one(evening, settings, monkeypatch,
                                                                                  locmem_sms):
    eve, bookings = evening
    settings.SMS_REMINDER_WINDOW_START, settings.SMS_REMINDER_WINDOW_END = time(20, 59, 57), time(23)  # too late
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 1
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    services.reminders_enqueue_due()
    planned = _planned()
    assert {m.send_by for m in planned} == {_local(eve, 21)}  # cut at the start of quiet hours
    assert sum(m.send_after < m.send_by for m in planned) == 3

    # One goes at 20:59:58: Twilio may hold it two seconds, not into the night.
    clock.set(_local(eve, 20, 59, 58))
    assert services.message_send(message_id=planned[0].pk) == "sent"
    assert locmem_sms[-1]["validity_period"] == 2
    # The workers were stuck; at 21:30 the backlog is dropped, not sent into quiet hours.
    clock.set(_local(eve, 21, 30))
    sent_before = len(locmem_sms)
    assert services.message_send(message_id=planned[1].pk) == "skipped"
    assert reminders_release(enqueue=lambda row_id, countdown: None)["dropped"] == 7
    assert len(locmem_sms) == sent_before
    assert SmsMessage.objects.filter(kind=DAY_BEFORE, status="pending").count() == 0


def test_a_starts_soon_reminder_is_never_sent_after_its_slot_starts(settings, monkeypatch, locmem_sms, never_quiet):
    slot = slot_make(starts_in=timedelta(days=2))
    booking = booking_make(slot=slot)
    with transaction.atomic():
        keys = [services.outbox.MessageKey(booking.pk, "reminder_soon", booking.version)]
        timing = reminder_window.reminder_timing(kind="reminder_soon", now=timezone.now(),
                                                 starts={booking.pk: slot.starts_at})
        services.outbox.messages_record_bulk(keys=keys, timing=timing)
    message = SmsMessage.objects.get(kind="reminder_soon")
    assert message.send_by == slot.starts_at and message.send_after is None
    assert message.status == "queued"  # not planned: sent as written
    assert 0 < int(locmem_sms[-1]["validity_period"]) <= 36000


def test_a_code_that_would_arrive_dead_is_dropped(settings, monkeypatch, locmem_sms, never_quiet):
    from unittest import mock

    booking = booking_make(slot=slot_make())
    challenge = booking.volunteer.challenges.create(
        phone=booking.volunteer.phone, purpose="my", code_hash="x" * 64, max_attempts=5,
        expires_at=timezone.now() + timedelta(minutes=10))
    with mock.patch("notify.sms.services.outbox.message_enqueue"), transaction.atomic():
        message = services.challenge_message_record(challenge=challenge, code="123456", situation="my_bookings")
    assert message.send_by == challenge.expires_at
    clock = Clock(monkeypatch)
    clock.set(challenge.expires_at + timedelta(seconds=1))
    sent_before = len(locmem_sms)
    assert services.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert (message.status, message.skip_reason) == ("skipped", "dropped_late")
    assert len(locmem_sms) == sent_before


def test_twilio_dropping_a_text_past_its_validity_period_is_counted_as_dropped_late_not_a_bad_number(
        evening, settings, monkeypatch, locmem_sms):
    eve, bookings = evening
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    services.reminders_enqueue_due()
    clock.set(_local(eve, 17))
    first = _planned()[0]
    assert services.message_send(message_id=first.pk) == "sent"
    first.refresh_from_db()
    assert services.status_receive(message_sid=first.twilio_sid, status="failed", error_code=30036,
                                   error_message="Validity Period Expired")
    first.refresh_from_db()
    first.volunteer.refresh_from_db()
    assert first.status == "failed" and first.error_code == 30036
    assert not first.volunteer.phone_invalid and not first.volunteer.sms_opted_out
    plan = reminder_plan_summary()
    assert (plan["dropped_late"], plan["failed"]) == (1, 0)


def test_the_rate_measured_in_a_backlog_slows_the_next_plan(evening, settings, monkeypatch):
    eve, bookings = evening
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 10
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    services.reminders_enqueue_due()
    planned = _planned()
    # At 17:05 everything is still waiting, and the sender took 30 texts in the last minute: half a text a second.
    clock.set(_local(eve, 17, 5))
    SmsMessage.objects.filter(kind="booking_confirmed").update(accepted_at=_local(eve, 17, 4, 30))
    SmsMessage.objects.filter(pk__in=[m.pk for m in planned]).update(next_attempt_at=_local(eve, 17))
    confirmations = SmsMessage.objects.filter(kind="booking_confirmed").count()
    result = reminders_release(enqueue=lambda row_id, countdown: None)
    assert result["measured"] == pytest.approx(confirmations / 60)
    assert reminder_window.rate_measured() == pytest.approx(confirmations / 60)
    assert reminder_window.rate_for_plan() == pytest.approx(confirmations / 60)  # lower than the setting's 10
    # Raising the capacity setting (more senders) starts afresh rather than keep the slower measurement.
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 20
    assert reminder_window.rate_measured() is None


def test_a_plan_made_at_one_rate_is_made_again_at_a_new_one_for_those_not_yet_handed_over(evening, settings,
                                                                                          monkeypatch):
    eve, bookings = evening
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 1
    settings.SMS_REMINDER_WINDOW_END = time(17, 0, 4)  # room for four at one a second
    clock = Clock(monkeypatch)
    clock.set(_local(eve, 11, 5))
    services.reminders_enqueue_due()
    assert reminder_plan_summary()["wont_fit"] == 5

    # Before the window, more senders: the operator raises the capacity to 3 a second; the next sweep replans.
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 3
    clock.set(_local(eve, 16, 0))
    assert reminders_release(enqueue=lambda row_id, countdown: None)["replanned"] == 9
    planned = _planned()
    assert [m.booking_id for m in planned] == [b.pk for b in bookings]  # the same order
    assert max(Counter(m.send_after for m in planned).values()) == 3
    assert planned[0].send_after == _local(eve, 17) and planned[-1].send_after == _local(eve, 17, 0, 2)
    assert all(m.next_attempt_at == m.send_after for m in planned)
    assert reminder_plan_summary()["wont_fit"] == 0
    # The same rate again: nothing moves.
    clock.set(_local(eve, 16, 1))
    assert reminders_release(enqueue=lambda row_id, countdown: None)["replanned"] == 0


def test_the_release_task_is_registered_and_scheduled():
    from django.conf import settings as django_settings

    from celery_app import app

    app.loader.import_default_modules()
    assert "sms.reminders_release" in app.tasks
    assert django_settings.CELERY_BEAT_SCHEDULE["sms-reminders-release"]["task"] == "sms.reminders_release"

"""Confirm or release and waitlist offers (issue 25) with real Celery worker processes on Redis and the loopback
Twilio: beat's scheduled tasks (sent by name, as beat sends them) write the day-before reminder, release the place
not confirmed by the deadline, offer it to the waiter and end the offer nobody took; every text reaches Twilio
exactly once, across a worker killed mid-send too. Time is moved by the test (the booking's event and the slot's
start are moved), never waited for."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from notify.sms import services
from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, slot_make, volunteer_make
from tests.waiting import wait_until
from volunteers.models import Booking, BookingEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.usefixtures("promotion_offers")]

# The worker's settings: reminders due from midnight, never quiet hours (the test runs at any time of day).
# No reminder window (notify.sms.services.reminder_window): the day-before reminders go as they are written.
WORKER_ENV = {"SMS_REMINDER_DAY_BEFORE_AT": "00:00", "SMS_QUIET_HOURS_START": "00:00",
              "SMS_QUIET_HOURS_END": "00:00", "SMS_REMINDER_WINDOW_START": "17:00", "SMS_REMINDER_WINDOW_END": "17:00"}


def _beat(app, *names: str) -> None:
    """What beat does at each tick of these entries: send the task by its scheduled name."""
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    for name in names:
        assert name in schedule, name
        app.send_task(name)


def _released_pair(count: int = 1) -> list[tuple[Booking, Booking]]:
    """`count` one-place slots tomorrow evening on sessions that release unconfirmed places: a holder booked
    yesterday (its event moved back a day) and a waiter each."""
    pairs = []
    start_in = timezone.localtime().replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for _ in range(count):
        slot = slot_make(starts_in=start_in - timezone.now(), capacity=1)
        slot.session.confirm_required = True
        slot.session.save(update_fields=["confirm_required"])
        holder = booking_make(slot=slot, volunteer=volunteer_make(name="Ann Holder"))
        waiter = booking_make(slot=slot, volunteer=volunteer_make(name="Ben Waiter"))
        BookingEvent.objects.filter(booking__in=[holder, waiter]).update(
            created_at=timezone.now() - timedelta(days=1))
        pairs.append((holder, waiter))
    return pairs


def _accepted(**kind) -> bool:
    return not SmsMessage.objects.filter(**kind).exclude(status="queued").exists()


def _sweep_until_all_accepted(timeout: float = 120.0) -> None:
    wait_until(lambda: _accepted(), timeout=timeout, interval=1.0, message="messages all accepted",
               between=lambda: services.messages_requeue_stuck(grace=timedelta(0), stale_after=timedelta(seconds=3)),
               detail=lambda: list(SmsMessage.objects.values_list("kind", "status", "error_message")))


def _assert_exactly_once(fake) -> None:
    rows = list(SmsMessage.objects.values_list("to", "body"))
    per_message = fake.sent_per_recipient_body()
    assert all(per_message.get((to, body)) == 1 for to, body in rows), per_message
    assert len(fake.messages) == len(rows)


def _move_start_inside_the_deadline(slot_id: int) -> None:
    """The clock moves on: the slot now starts within CONFIRM_DEADLINE_HOURS (and the offer window)."""
    start = timezone.now() + timedelta(hours=django_settings.CONFIRM_DEADLINE_HOURS - 1)
    Slot.objects.filter(pk=slot_id).update(starts_at=start, ends_at=start + timedelta(hours=2))


def test_beat_asks_the_day_before_releases_at_the_deadline_and_the_offer_moves_on(twilio_fake, redis_client,
                                                                                  worker_factory):
    with broker(django_settings.REDIS_URL) as app:
        [(holder, waiter)] = _released_pair()
        third = booking_make(slot=holder.slot, volunteer=volunteer_make(name="Cat Third"))
        worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=WORKER_ENV)
        _beat(app, "sms.reminders_enqueue_due", "notify.unconfirmed_release")
        wait_until(lambda: SmsMessage.objects.filter(booking=holder, kind="reminder_day_before", status="queued"),
                   message="the day-before reminder accepted by Twilio")
        reminder = SmsMessage.objects.get(booking=holder, kind="reminder_day_before")
        assert "Reply OK or open the link by" in reminder.body and holder.manage_token in reminder.body
        holder.refresh_from_db()
        assert holder.status == "confirmed"  # asked, but the deadline is a day away

        _move_start_inside_the_deadline(holder.slot_id)
        _beat(app, "notify.unconfirmed_release")
        wait_until(lambda: SmsMessage.objects.filter(booking=waiter, kind="booking_offered", status="queued"),
                   message="the waiter offered the released place")
        holder.refresh_from_db()
        waiter.refresh_from_db()
        assert holder.status == "cancelled" and waiter.offer_expires_at is not None
        assert SmsMessage.objects.get(booking=holder, kind="booking_unconfirmed").status == "queued"

        # Nobody answers: the offer's deadline passes (moved), and the next tick offers the place to Cat.
        Booking.objects.filter(pk=waiter.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
        _beat(app, "volunteers.offers_lapse", "volunteers.offers_lapse")  # twice: one effect
        wait_until(lambda: SmsMessage.objects.filter(booking=third, kind="booking_offered", status="queued"),
                   message="the offer moved on to the next waiter")
        _sweep_until_all_accepted()
    waiter.refresh_from_db()
    assert waiter.status == "cancelled"
    assert SmsMessage.objects.filter(booking=waiter, kind="booking_offer_lapsed").count() == 1
    assert Slot.objects.get(pk=holder.slot_id).confirmed_count == 1
    _assert_exactly_once(twilio_fake)


def test_a_worker_killed_mid_release_sends_nothing_twice(twilio_fake, redis_client, worker_factory):
    count = 8
    with broker(django_settings.REDIS_URL) as app:
        pairs = _released_pair(count)
        first = worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=WORKER_ENV)
        _beat(app, "sms.reminders_enqueue_due")
        wait_until(lambda: SmsMessage.objects.filter(kind="reminder_day_before", status="queued").count() == count,
                   timeout=120, message="every reminder accepted")
        for holder, _ in pairs:
            _move_start_inside_the_deadline(holder.slot_id)
        twilio_fake.delay = 0.3  # each accepted text's answer is slow: the kill lands mid-send
        _beat(app, "notify.unconfirmed_release")
        wait_until(lambda: twilio_fake.in_flight.is_set() and SmsMessage.objects.filter(
            kind__in=["booking_unconfirmed", "booking_offered"], status="queued").exists(),
            timeout=60, interval=0.01, message="the first worker mid-send")
        first.kill9()
        twilio_fake.delay = 0
        worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=WORKER_ENV)
        _beat(app, "notify.unconfirmed_release", "notify.unconfirmed_release")  # the next ticks finish the rest
        wait_until(lambda: SmsMessage.objects.filter(kind="booking_offered").count() == count, timeout=120,
                   message="every place released and offered",
                   between=lambda: _beat(app, "notify.unconfirmed_release"))
        _sweep_until_all_accepted()
    assert BookingEvent.objects.filter(kind="booking_unconfirmed").count() == count
    assert SmsMessage.objects.filter(kind="booking_unconfirmed").count() == count
    assert all(slot.confirmed_count == 1 for slot in Slot.objects.all())
    _assert_exactly_once(twilio_fake)

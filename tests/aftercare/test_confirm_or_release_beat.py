"""Confirm or release, offers and the follow-up (issue 25) driven by a real `celery beat` and real worker processes:
beat sends the production schedule's tasks (every second here: tests/aftercare/beat_settings.py) and the test moves
time in those processes by writing the clock file they read (tests/aftercare/clock). As the clock moves, the
day-before reminder asks, the deadline releases the places nobody confirmed (the host told once, in one text), the
waiter is offered the place, the offer lapses and moves on, the next waiter takes it, and after the slot the
follow-up goes. A worker killed mid-send on the release is replaced; nothing reaches Twilio twice."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from notify.host_notifications import host_notifications_set
from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.aftercare.test_follow_up_worker import _clock_env, beat_factory  # noqa: F401 - the fixture
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, host_mobile_prove, volunteer_make
from tests.sms.test_confirm_or_release_worker import WORKER_ENV, _released_pair
from tests.waiting import wait_until
from volunteers.confirmations import booking_offer_accept
from volunteers.models import Booking, BookingEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.server,
              pytest.mark.usefixtures("promotion_offers")]

BEAT_TASKS = ("sms.reminders_enqueue_due", "notify.unconfirmed_release", "volunteers.offers_lapse",
              "sms.follow_ups_enqueue_due", "volunteers.booking_event_sweep")
HOST_MOBILE = "+447400999777"
PAIRS = 4


def _kinds(kind: str, **where) -> SmsMessage:
    return SmsMessage.objects.filter(kind=kind, **where)


def _all_accepted() -> bool:
    return not SmsMessage.objects.exclude(status__in=["queued", "skipped"]).exists()


def test_beat_moves_the_places_on_as_time_moves_and_a_killed_worker_sends_nothing_twice(
        twilio_fake, worker_factory, beat_factory, redis_client, tmp_path):  # noqa: F811
    clock = tmp_path / "clock"
    clock.write_text("0")
    env = {**WORKER_ENV, **_clock_env(clock), "FRONTROOM_TEST_BEAT_TASKS": ",".join(BEAT_TASKS),
           "SMS_SENDING_STALE_SECONDS": "3"}

    def clock_at(moment) -> None:  # the processes' now becomes `moment`, and Twilio's
        clock.write_text(str((moment - timezone.now()).total_seconds()))

    twilio_fake.clock = lambda: datetime.now(UTC) + timedelta(seconds=float(clock.read_text() or 0))

    with broker(django_settings.REDIS_URL):
        pairs = _released_pair(PAIRS)  # one-place slots tomorrow at 18:00, each its own host's: a holder, a waiter
        start = pairs[0][0].slot.starts_at
        first_slot = pairs[0][0].slot
        late = booking_make(slot=first_slot, volunteer=volunteer_make(name="Cat Third"))  # the second waiter there
        host = first_slot.session.meeting_point.host
        host_notifications_set(host=host, each="text", digest=False, mobile=HOST_MOBILE)
        host_mobile_prove(host)  # the code read from its outbox row, as the phone would
        first = worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=env)
        beat_factory(broker_url=django_settings.REDIS_URL, extra_env=env)

        # Now (the day before): beat's reminder sweep asks every holder; nobody is released yet.
        wait_until(lambda: _kinds("reminder_day_before", status="queued").count() == PAIRS, timeout=120,
                   message="every day-before reminder accepted by Twilio")
        assert "Reply OK or open the link by" in _kinds("reminder_day_before").first().body
        assert not BookingEvent.objects.filter(kind="booking_unconfirmed").exists()

        # The deadline passes (three hours before the start): the places nobody confirmed go, each waiter is offered
        # one. The first worker is killed while Twilio is slow to answer; another takes over.
        twilio_fake.delay = 0.3
        clock_at(start - timedelta(hours=django_settings.CONFIRM_DEADLINE_HOURS) + timedelta(minutes=1))
        wait_until(lambda: twilio_fake.in_flight.is_set() and _kinds("booking_unconfirmed", status="queued").exists(),
                   timeout=120, interval=0.01, message="the first worker mid-send on the release")
        first.kill9()
        twilio_fake.delay = 0
        worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=env)
        wait_until(lambda: _kinds("booking_offered", status="queued").count() == PAIRS and _all_accepted(),
                   timeout=180, interval=0.5, message="every place released and offered",
                   detail=lambda: list(SmsMessage.objects.values_list("kind", "status", "attempts")))
        holder, waiter = pairs[0]
        waiter.refresh_from_db()
        assert Booking.objects.get(pk=holder.pk).status == "cancelled" and waiter.offer_expires_at is not None
        wait_until(lambda: _kinds("host_released", host=host, status="queued").exists(), timeout=60,
                   message="the host told of the released place")

        # Nobody answers the offers: past their deadline beat lapses them; the first slot's goes on to Cat.
        clock_at(waiter.offer_expires_at + timedelta(minutes=1))
        wait_until(lambda: _kinds("booking_offered", booking=late, status="queued").exists(), timeout=120,
                   message="the offer moved on to the next waiter")
        assert _kinds("booking_offer_lapsed", booking=waiter).count() == 1
        booking_offer_accept(booking_id=late.pk)  # Cat takes it (the reply OK)

        # An hour after the slot ends, beat's follow-up sweep asks Cat how it went: once.
        slot = Slot.objects.get(pk=first_slot.pk)
        clock_at(slot.ends_at + timedelta(minutes=61))
        wait_until(lambda: _kinds("follow_up", booking=late, status="queued").exists(), timeout=120,
                   message="Cat's follow-up")
        wait_until(_all_accepted, timeout=120, interval=0.5, message="every message accepted")

    assert BookingEvent.objects.filter(kind="booking_unconfirmed").count() == PAIRS
    assert _kinds("booking_unconfirmed").count() == PAIRS
    assert _kinds("host_released", host=host).count() == 1
    assert "1 place on" in _kinds("host_released", host=host).get().body
    assert _kinds("booking_offered").count() == PAIRS + 1 and _kinds("booking_offer_lapsed").count() == PAIRS
    assert list(_kinds("follow_up").values_list("booking_id", flat=True)) == [late.pk]  # who held a place
    assert Slot.objects.get(pk=first_slot.pk).confirmed_count == 1
    assert not Slot.objects.exclude(pk=first_slot.pk).exclude(confirmed_count=0).exists()
    # Every text that went reached Twilio once (one skipped, nothing else: see below), and nothing else did.
    rows = list(SmsMessage.objects.filter(status="queued").values_list("to", "body"))
    per_message = twilio_fake.sent_per_recipient_body()
    twice = [(kind, to, body, attempts) for kind, to, body, attempts in SmsMessage.objects.filter(status="queued")
             .values_list("kind", "to", "body", "attempts") if per_message.get((to, body)) != 1]
    assert twice == []
    assert len(twilio_fake.messages) == len(rows)
    assert list(SmsMessage.objects.filter(status="skipped").values_list("kind", "skip_reason")) == []

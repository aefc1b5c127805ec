"""Fault tests with real Celery worker processes on Redis: every outbox message reaches the
(loopback) Twilio exactly once, counted by the requests the mock received."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from notify.sms import services
from notify.sms.models import SmsMessage
from tests.factories import PostcodeFactory, booking_ask, next_mobile
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, slot_make, volunteer_make
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _book(count: int, slot) -> None:
    """Half through the general path (a volunteer already on file), half as first bookings of new phones."""
    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    for n in range(count):
        if n % 2:
            booking_make(slot=slot, volunteer=volunteer_make())
        else:
            booking_ask(slot_id=slot.pk, name="Jo Bloggs", phone=next_mobile(), postcode=postcode, consent_sms=True)


def _all_accepted() -> bool:
    return not SmsMessage.objects.exclude(status="queued").exists()


def _sweep_until_all_accepted(timeout: float = 90.0) -> None:
    wait_until(_all_accepted, timeout=timeout, interval=1.0, message="messages all accepted",
               between=lambda: services.messages_requeue_stuck(grace=timedelta(0), stale_after=timedelta(seconds=3)),
               detail=lambda: list(SmsMessage.objects.values_list("status", "error_message")))


def _assert_exactly_once(fake, expected: int) -> None:
    rows = list(SmsMessage.objects.values_list("to", "body", "twilio_sid"))
    assert len(rows) == expected
    per_message = fake.sent_per_recipient_body()
    assert all(per_message.get((to, body)) == 1 for to, body, _ in rows), per_message
    assert len(fake.messages) == expected  # nothing sent twice, nothing extra
    assert {sid for _, _, sid in rows} == {m["sid"] for m in fake.messages}


def test_killing_a_worker_mid_batch_loses_nothing_and_doubles_nothing(twilio_fake, redis_client, worker_factory,
                                                                      settings):
    twilio_fake.delay = 0.3  # each accepted message's response is slow: kill -9 lands mid-send
    total = 30
    with broker(django_settings.REDIS_URL):
        _book(total, slot_make(capacity=total))
        first = worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url)
        wait_until(lambda: len(twilio_fake.messages) >= 8 and twilio_fake.in_flight.is_set(), timeout=60,
                   interval=0.01, message="the first worker to be mid-batch")
        first.kill9()
        assert len(twilio_fake.messages) < total
        worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url)
        _sweep_until_all_accepted()
    _assert_exactly_once(twilio_fake, total)
    # At least one message was accepted by Twilio while its worker died: it was found, not resent.
    assert SmsMessage.objects.filter(attempts__gt=1).exists()


def test_redis_down_during_bookings_then_back_loses_nothing_and_doubles_nothing(twilio_fake, private_redis,
                                                                                worker_factory, settings):
    settings.REDIS_URL = private_redis.url  # the worker's and our broker; never the shared Redis
    with broker(private_redis.url):
        slot = slot_make(capacity=40)
        worker_factory(broker_url=private_redis.url, api_url=twilio_fake.url)
        _book(8, slot)
        wait_until(lambda: len(twilio_fake.messages) == 8, timeout=60, message="the first bookings to be sent")

        private_redis.stop()
        _book(8, slot)  # committed while the broker is down: the enqueue fails, the rows stay pending
        assert SmsMessage.objects.filter(status="pending").count() == 8

        private_redis.start()
        _sweep_until_all_accepted()
    _assert_exactly_once(twilio_fake, 16)

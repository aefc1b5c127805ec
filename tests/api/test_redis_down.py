"""Redis unreachable: bookings go through without waiting on it, and the outbox sweep sends their texts later.

The broker and the rate-limit cache are pointed at a port nobody listens on (never the shared Redis). The
tests count what the app does (connection attempts to the broker, enqueue failures), never wall time;
bench/redis_down.py measures the latency.
"""

import logging
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.utils import timezone
from kombu.exceptions import OperationalError

import core.broker
from dispatch.sms.models import SmsMessage
from dispatch.sms.tasks import message_send, outbox_sweep
from tests.api.conftest import booking_body
from tests.factories import texted_code
from tests.sms.conftest import broker, free_port
from volunteers.models import Booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis(settings):
    """A Redis URL on a free port with nothing listening, as the broker and the rate-limit cache."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {**settings.CACHES, settings.RATE_LIMIT_CACHE: {
        **settings.CACHES[settings.RATE_LIMIT_CACHE], "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url}}
    with broker(url) as app:
        yield app


@pytest.fixture
def locmem_sms(settings):
    from dispatch.sms.backends import LocmemBackend

    settings.SMS_BACKEND = "locmem"
    settings.SMS_RATE_PER_SECOND = 0
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()


@pytest.fixture
def connection_attempts(monkeypatch):
    attempts = []
    original = core.broker.Transport.establish_connection

    def counted(self):
        attempts.append(1)
        return original(self)

    monkeypatch.setattr(core.broker.Transport, "establish_connection", counted)
    return attempts


def test_a_booking_with_redis_down_is_made_proven_and_its_texts_are_swept_out_later(
        api, slot, dead_redis, connection_attempts, caplog, locmem_sms, django_capture_on_commit_callbacks):
    caplog.set_level(logging.WARNING)
    with django_capture_on_commit_callbacks(execute=True):
        asked = api.post(f"/api/slots/{slot.id}/bookings/", booking_body(), format="json")
    assert asked.status_code == 202, asked.content
    token = asked.json()["challenge"]
    with django_capture_on_commit_callbacks(execute=True):
        proven = api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert proven.status_code == 200, proven.content
    booking = Booking.objects.get()
    assert booking.status == "confirmed" and booking.proven_at is not None
    pending = SmsMessage.objects.filter(status="pending")
    assert pending.count() >= 1 and locmem_sms == []
    # One attempt to reach the broker, no retries, then the process leaves it alone (the next enqueue skips).
    assert len(connection_attempts) == 1
    assert any("could not enqueue" in r.getMessage() for r in caplog.records)
    assert any("Rate limits are not enforced" in r.getMessage() for r in caplog.records)

    # Redis is back (eager here: the sweep's enqueue runs the send in-process): the sweep sends what was left.
    core.broker._broker_down_until = 0.0
    dead_redis.conf.task_always_eager = True
    SmsMessage.objects.update(updated_at=timezone.now() - timedelta(minutes=5))  # past the sweep's grace
    outbox_sweep.apply()
    assert not SmsMessage.objects.filter(status="pending").exists()
    assert {m["to"] for m in locmem_sms} == {booking.volunteer.phone}


def test_one_publish_to_a_dead_broker_is_one_connection_attempt(dead_redis, connection_attempts):
    assert core.broker.enqueue(message_send, (1,)) is False
    assert len(connection_attempts) == 1  # kombu's default would retry the connection for seconds
    assert core.broker.enqueue(message_send, (2,)) is False
    assert len(connection_attempts) == 1  # skipped: the broker was just found down
    core.broker._broker_down_until = 0.0
    with pytest.raises(OperationalError):  # a task's own delay() does not retry the publish either
        message_send.delay(3)
    assert len(connection_attempts) == 2


def test_rate_limit_cache_timeouts_are_short(settings):
    options = settings.CACHES[settings.RATE_LIMIT_CACHE].get("OPTIONS", {})
    if "socket_timeout" in options:  # Redis in this run
        assert options["socket_timeout"] <= 0.25 and options["socket_connect_timeout"] <= 0.25
    assert caches[settings.RATE_LIMIT_CACHE] is not None

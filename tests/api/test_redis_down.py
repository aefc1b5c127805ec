"""Redis unreachable: bookings go through without waiting on it, and the outbox sweep sends their texts later;
assignment runs are started and committed all the same, and their sweep publishes their tasks later.

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
from rest_framework.test import APIClient

import core.broker
from dispatch.models import AssignmentRun, CoordinatorAction
from dispatch.services.assignment import WAITING_FOR_QUEUE
from dispatch.tasks import assignment_runs_sweep
from notify.sms.models import SmsMessage
from notify.sms.tasks import message_send, outbox_sweep
from tests.api.conftest import booking_body
from tests.dispatch import factories as f
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


def test_an_assignment_run_with_redis_down_is_started_and_committed_and_its_sweep_publishes_it_later(
        dead_redis, connection_attempts, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.WARNING)
    seat = f.seat("E14000401", lat=53.37, lng=-1.55, priority=1)
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 3)]).slots.get()
    for _ in range(2):
        f.volunteer(lat=seat.lat, lng=seat.lng, windows=[(f.day_at(9), f.day_at(13))])
    client = APIClient()
    client.force_authenticate(f.user("coord"))
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/api/dispatch/runs/", {"date_from": f.day_at(0).isoformat(),
                                                      "date_to": f.day_at(23).isoformat()}, format="json")
    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    # One connection attempt, no retries, and the run says what it waits for.
    assert len(connection_attempts) == 1
    assert any("could not enqueue dispatch.assignment_run_execute" in r.getMessage() for r in caplog.records)
    shown = client.get(f"/api/dispatch/runs/{run_id}/").json()
    assert shown["state"] == "queued" and shown["progress_message"] == WAITING_FOR_QUEUE

    # Still down: the sweep finds the broker down and leaves the run as it is, for the next sweep.
    AssignmentRun.objects.filter(pk=run_id).update(created_at=timezone.now() - timedelta(minutes=5))
    assert assignment_runs_sweep.apply().get() == 0
    assert AssignmentRun.objects.get(pk=run_id).state == "queued"

    # Redis is back (eager here: the sweep's publish runs the task in-process): the run is solved.
    core.broker._broker_down_until = 0.0
    dead_redis.conf.task_always_eager = True
    assert assignment_runs_sweep.apply().get() == 1
    assert AssignmentRun.objects.get(pk=run_id).state == "ready"
    assert assignment_runs_sweep.apply().get() == 0  # nothing left to publish

    # Down again for the commit: it is accepted, the booking task waits for the sweep.
    dead_redis.conf.task_always_eager = False
    with django_capture_on_commit_callbacks(execute=True):
        committed = client.post(f"/api/dispatch/runs/{run_id}/commit/")
    assert committed.status_code == 202, committed.content
    shown = client.get(f"/api/dispatch/runs/{run_id}/").json()
    assert shown["state"] == "committing" and shown["progress_message"] == WAITING_FOR_QUEUE
    assert not Booking.objects.exists()
    assert assignment_runs_sweep.apply().get() == 0  # too fresh: its own task may still be on its way
    CoordinatorAction.objects.filter(run_id=run_id, kind="run_committed").update(
        created_at=timezone.now() - timedelta(minutes=5))
    core.broker._broker_down_until = 0.0
    dead_redis.conf.task_always_eager = True
    assert assignment_runs_sweep.apply().get() == 1
    assert AssignmentRun.objects.get(pk=run_id).state == "committed"
    slot.refresh_from_db()
    assert slot.confirmed_count == 2 == Booking.objects.filter(slot=slot, status="confirmed").count()
    assert assignment_runs_sweep.apply().get() == 0


def test_rate_limit_cache_timeouts_are_short(settings):
    options = settings.CACHES[settings.RATE_LIMIT_CACHE].get("OPTIONS", {})
    if "socket_timeout" in options:  # Redis in this run
        assert options["socket_timeout"] <= 0.25 and options["socket_connect_timeout"] <= 0.25
    assert caches[settings.RATE_LIMIT_CACHE] is not None

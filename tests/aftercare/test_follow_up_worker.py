"""A real beat and real worker processes send the follow-up at the right time, with the time moved by the test (a
clock file the processes read: tests/aftercare/clock), and nothing twice when a worker is killed mid-send."""

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from notify.sms import services
from notify.sms.models import SmsMessage
from tests.aftercare.helpers import booked_slot
from tests.conftest import REPO_ROOT
from tests.sms.conftest import broker, worker_database_url
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CLOCK_DIR = Path(__file__).resolve().parent / "clock"


def _clock_env(clock: Path) -> dict:
    return {"FRONTROOM_TEST_CLOCK_FILE": str(clock),
            "PYTHONPATH": os.pathsep.join([str(CLOCK_DIR), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
            # Never quiet: the test must not depend on the hour it runs at (quiet hours have their own tests).
            "SMS_QUIET_HOURS_START": "00:00", "SMS_QUIET_HOURS_END": "00:00"}


class BeatProcess:
    """A real `celery -A celery_app beat`, with the follow-up sweep every second (tests/aftercare/beat_settings)."""

    def __init__(self, *, broker_url: str, tmp: Path, extra_env: dict):
        env = dict(os.environ)
        env.update({"DJANGO_SETTINGS_MODULE": "tests.aftercare.beat_settings", "DATABASE_URL": worker_database_url(),
                    "REDIS_URL": broker_url, "CELERY_BROKER_URL": broker_url, "CELERY_TASK_ALWAYS_EAGER": "false",
                    "LOG_LEVEL": "WARNING", **extra_env})
        with (tmp / "beat.log").open("ab") as out:
            self.process = subprocess.Popen(
                [str(Path(os.sys.executable).parent / "celery"), "-A", "celery_app", "beat", "-l", "WARNING",
                 "-s", str(tmp / "beat-schedule")], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)


@pytest.fixture
def beat_factory(tmp_path):
    beats: list[BeatProcess] = []

    def start(**kwargs) -> BeatProcess:
        beat = BeatProcess(tmp=tmp_path, **kwargs)
        beats.append(beat)
        return beat

    yield start
    for beat in beats:
        beat.stop()


def _follow_ups_at_twilio(fake) -> list[dict]:
    return [message for message in fake.messages if "/after" in message["body"]]


def _sent_to(fake, booking) -> int:
    return sum(1 for message in _follow_ups_at_twilio(fake) if f"/b/{booking.manage_token}/after" in message["body"])


def test_beat_and_a_worker_send_the_follow_up_an_hour_after_the_slot_ends_as_time_moves(
        twilio_fake, worker_factory, beat_factory, redis_client, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text("0")
    # A canary whose slot ended two hours ago: once its follow-up has reached Twilio, the beat and the worker have
    # run the sweep at least once at the real time, when the main slot (ending in two hours) was not due.
    _, (canary,) = booked_slot(ended_ago=timedelta(hours=2))
    slot, bookings = booked_slot(people=3, starts_at=timezone.now() + timedelta(hours=1), hours=1)
    env = _clock_env(clock)
    with broker(django_settings.REDIS_URL):
        worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=env)
        beat_factory(broker_url=django_settings.REDIS_URL, extra_env=env)
        wait_until(lambda: _sent_to(twilio_fake, canary) == 1, timeout=120, message="the canary's follow-up")
        assert not SmsMessage.objects.filter(kind="follow_up", booking__in=bookings).exists()
        assert not any(_sent_to(twilio_fake, booking) for booking in bookings)

        # Fifty-nine minutes after the slot ends: still nothing. To know the sweep ran at the moved time, wait for
        # a second canary, due then, to be sent.
        clock.write_text(str((slot.ends_at - timezone.now() + timedelta(minutes=59)).total_seconds()))
        _, (second,) = booked_slot(ended_ago=timedelta(hours=1, minutes=1))
        wait_until(lambda: _sent_to(twilio_fake, second) == 1, timeout=120, message="the second canary's follow-up")
        assert not SmsMessage.objects.filter(kind="follow_up", booking__in=bookings).exists()

        # An hour and a minute after the slot ends: due, sent once each.
        clock.write_text(str((slot.ends_at - timezone.now() + timedelta(minutes=61)).total_seconds()))
        wait_until(lambda: all(_sent_to(twilio_fake, booking) == 1 for booking in bookings), timeout=120,
                   message="the three follow-ups", detail=lambda: list(SmsMessage.objects.filter(
                       kind="follow_up").values_list("booking_id", "status", "skip_reason")))
    assert all(_sent_to(twilio_fake, booking) == 1 for booking in [canary, second, *bookings])
    assert SmsMessage.objects.filter(kind="follow_up").count() == 5


def test_killing_a_worker_mid_follow_ups_sends_none_twice(twilio_fake, worker_factory, beat_factory, redis_client,
                                                        tmp_path):
    twilio_fake.delay = 0.3  # each accepted message's response is slow: kill -9 lands mid-send
    clock = tmp_path / "clock"
    clock.write_text("0")
    total = 20
    _, bookings = booked_slot(people=total, capacity=total, ended_ago=timedelta(hours=2))
    env = _clock_env(clock)
    with broker(django_settings.REDIS_URL):
        first = worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=env)
        beat_factory(broker_url=django_settings.REDIS_URL, extra_env=env)
        wait_until(lambda: len(_follow_ups_at_twilio(twilio_fake)) >= 5 and twilio_fake.in_flight.is_set(),
                   timeout=120, interval=0.01, message="the first worker to be mid-send")
        first.kill9()
        assert len(_follow_ups_at_twilio(twilio_fake)) < total
        worker_factory(broker_url=django_settings.REDIS_URL, api_url=twilio_fake.url, extra_env=env)
        wait_until(lambda: not SmsMessage.objects.filter(kind="follow_up").exclude(status="queued").exists()
                   and SmsMessage.objects.filter(kind="follow_up").count() == total, timeout=180, interval=1.0,
                   message="every follow-up accepted",
                   between=lambda: services.messages_requeue_stuck(grace=timedelta(0),
                                                                   stale_after=timedelta(seconds=3)),
                   detail=lambda: list(SmsMessage.objects.filter(kind="follow_up").values_list("status", "attempts")))
    assert [_sent_to(twilio_fake, booking) for booking in bookings] == [1] * total
    assert len(_follow_ups_at_twilio(twilio_fake)) == total

"""Settings for the beat process of the real-beat tests (tests/aftercare/test_follow_up_worker.py,
test_confirm_or_release_beat.py): the production settings with the tasks named in FRONTROOM_TEST_BEAT_TASKS (the
follow-up sweep if unset) every second and the outbox sweep every two, so a test need not wait minutes of wall
time; the time itself is moved by the test (tests/aftercare/clock)."""

import os

from config.settings import *  # noqa: F403

_TASKS = [name for name in os.environ.get("FRONTROOM_TEST_BEAT_TASKS", "sms.follow_ups_enqueue_due").split(",") if name]
_SCHEDULED = {entry["task"] for entry in CELERY_BEAT_SCHEDULE.values()}  # noqa: F405
assert set(_TASKS) <= _SCHEDULED, f"not in the production schedule: {set(_TASKS) - _SCHEDULED}"

CELERY_BEAT_SCHEDULE = {
    **{name: {"task": name, "schedule": 1.0} for name in _TASKS},
    "outbox-sweep": {"task": "notify.sweep", "schedule": 2.0},
}

"""Settings for the beat process of tests/aftercare/test_follow_up_worker.py: the production settings with the
follow-up sweep and the outbox sweep every second, so the test need not wait five minutes of wall time."""

from config.settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    "sms-follow-ups": {"task": "sms.follow_ups_enqueue_due", "schedule": 1.0},
    "outbox-sweep": {"task": "notify.sweep", "schedule": 2.0},
}

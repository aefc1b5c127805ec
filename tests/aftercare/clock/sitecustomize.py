"""The clock of a worker or beat process a test starts (tests/aftercare/test_follow_up_worker.py): Django's
timezone.now() plus the seconds written in FRONTROOM_TEST_CLOCK_FILE, read at every call, so the test moves time
in running processes by writing the file. Loaded by Python at start-up from PYTHONPATH; nothing else uses it."""

import os

_FILE = os.environ.get("FRONTROOM_TEST_CLOCK_FILE")

if _FILE:
    from datetime import timedelta

    from django.utils import timezone as _timezone

    _real_now = _timezone.now

    def _moved_now():
        try:
            with open(_FILE) as handle:
                offset = float(handle.read().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return _real_now() + timedelta(seconds=offset)

    _timezone.now = _moved_now

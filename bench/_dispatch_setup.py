"""Shared set-up for the dispatch benchmarks (assign.py, overflow.py, reminders.py): their own PostgreSQL database,
a broker nobody consumes, the real seats; the rest comes from bench/data.py and bench/report.py."""

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dataset, reporting  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/frontroom_bench_dispatch")
# A broker with no worker: commit enqueues its after-commit tasks (counted), the work itself runs elsewhere.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

copy_rows = dataset.copy_rows


def django_setup() -> None:
    dataset.django_setup(database_url=os.environ["DATABASE_URL"], redis_url=os.environ["REDIS_URL"])
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def machine() -> str:
    return reporting.machine_line(reporting.machine_info())


def seats_load() -> list[tuple[str, float, float, int]]:
    """All 2010-set seats at their population-weighted centres with the 2017 priority band, and their neighbours."""
    return [(s.ons_code, s.lat, s.lng, s.priority) for s in dataset.gb_seats_load(dataset.shared_data_dir())]


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dispatch_proposedassignment, dispatch_overflowmove, dispatch_coordinatoraction, "
            "dispatch_assignmentrun, volunteers_bookingevent, volunteers_booking, volunteers_availabilitywindow, "
            "volunteers_volunteer, canvass_slot, canvass_canvasssession, canvass_meetingpoint CASCADE"
        )


def next_saturday() -> datetime:
    from django.utils import timezone

    local = timezone.localtime() + timedelta(days=7)
    day = local.date() + timedelta(days=(5 - local.weekday()) % 7)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def host_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get_or_create(username="bench-host")[0]


def benchmarks_md_update(section: str, body: str) -> None:
    """Replace (or append) one '## ' section of BENCHMARKS.md, leaving the others alone."""
    reporting.benchmarks_section_write(section.removeprefix("## "), body)

"""Shared set-up for the dispatch benchmarks: a separate PostgreSQL database and fast COPY loaders."""

import os
import platform
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/frontroom_bench_dispatch")
# A broker with no worker: commit enqueues its after-commit tasks (counted), the work itself runs elsewhere.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

SHARED = Path(os.environ.get("FRONTROOM_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not (SHARED / "PROVENANCE.md").exists():
    SHARED = Path("/work/shared/data")


def django_setup() -> None:
    import django
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def seats_load() -> list[tuple[str, float, float, int]]:
    """All 2010-set seats at their population-weighted centres with the 2017 priority band, and their
    neighbours: the same loader the dispatch tests use."""
    from tests.dispatch.factories import gb_seats_load

    return [(s.ons_code, s.lat, s.lng, s.priority) for s in gb_seats_load(SHARED)]


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dispatch_proposedassignment, dispatch_overflowmove, dispatch_coordinatoraction, "
            "dispatch_assignmentrun, volunteers_bookingevent, volunteers_booking, volunteers_availabilitywindow, "
            "volunteers_volunteer, canvass_slot, canvass_canvasssession, canvass_meetingpoint CASCADE"
        )


def copy_rows(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == section), None)
    block = f"{section}\n\n{body.rstrip()}\n\n"
    if start is None:
        text = text.rstrip() + "\n\n" + block
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        text = "".join(lines[:start]) + block + "".join(lines[end:])
    path.write_text(text, encoding="utf-8")

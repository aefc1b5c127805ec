"""Server time of the coordinators' coverage dashboard with all 650 seats, next to /health/ in the same run.

Loads the 650 seats and their adjacency, then SESSIONS sessions (100,000) of three slots over --days (six
weeks) in as many seats as --seats (slot fill drawn at random; the first week's places are real booking rows,
most proven, some unproven holds), and times GET /coordinate/ through Django's test client (no network)
for both maps and colourings and one region zoomed, plus the seat page. With --keep and then --reuse from
another checkout, the same data times other code (the dashboard before a change) in the same session. Also times the first build of the map paths, with and
without the disk cache. Prints a markdown block; with --write replaces its section of BENCHMARKS.md.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting  # noqa: E402

HEADING = "Coordinators' coverage dashboard"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    reporting.add_common_args(parser)
    parser.add_argument("--sessions", type=int, default=100_000, help="Sessions in all (default %(default)s).")
    parser.add_argument("--days", type=int, default=42,
                        help="Days the sessions are spread over, from tomorrow (default %(default)s: six weeks).")
    parser.add_argument("--seats", type=int, default=650, help="Seats that have sessions (default %(default)s).")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per page (default %(default)s).")
    parser.add_argument("--reuse", action="store_true", help="Time the pages on the data an earlier --keep left.")
    parser.add_argument("--keep", action="store_true", help="Leave the data for a --reuse run (of other code).")
    parser.add_argument("--label", default="", help="What code this is, for the table (default: the git HEAD).")
    args = parser.parse_args()
    dataset.django_setup(database_url=args.database_url, redis_url=None)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from seats.models import Seat
    from web.coordinators import maps

    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(args.seed)
    data_dir = dataset.shared_data_dir()
    if Seat.objects.count() < 650:
        dataset.reference_data_load(data_dir)
    user = get_user_model().objects.filter(username="bench-coordinator").first() or get_user_model().objects.create_user(
        username="bench-coordinator", password="x-bench-password-1", is_staff=True)
    seats = sorted(Seat.objects.all(), key=lambda seat: seat.pk)
    if args.reuse:
        counts = _counts()
    else:
        _clear()
        counts = _seed(args, rng, user, rng.sample(seats, min(args.seats, len(seats))))

    build = {}
    with tempfile.TemporaryDirectory() as cache:
        settings.MAP_CACHE_DIR = cache
        for kind in ("hex", "boundaries"):
            maps._shapes.cache_clear()
            started = time.perf_counter()
            maps.map_shapes(kind)
            build[f"{kind}: first build"] = time.perf_counter() - started
            maps._shapes.cache_clear()
            started = time.perf_counter()
            maps.map_shapes(kind)
            build[f"{kind}: read from the disk cache"] = time.perf_counter() - started

    client = Client()
    client.force_login(user)
    region = Seat.objects.exclude(region="").order_by("region").values_list("region", flat=True).first()
    pages = {"/health/": "/health/", "dashboard (default: hex, by shortfall)": "/coordinate/",
             "dashboard, figures read afresh (COVERAGE_CACHE_SECONDS=0)": "/coordinate/?uncached",
             "dashboard, boundaries, how full": "/coordinate/?map=boundaries&colour=fill",
             f"dashboard, boundaries, one region ({region})": f"/coordinate/?map=boundaries&region={region}",
             "dashboard, sorted by places": "/coordinate/?sort=-places",
             "seat page": f"/coordinate/seats/{seats[0].pk}/"}
    rows, sizes = [], {}
    label_code = args.label or _head()
    cache_seconds = getattr(settings, "COVERAGE_CACHE_SECONDS", 0)
    for label, url in pages.items():
        settings.COVERAGE_CACHE_SECONDS = 0 if url.endswith("?uncached") else cache_seconds
        client.get(url)  # warm: the map shapes are built or read once per process
        samples, cpu = [], []
        for _ in range(args.requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert response.status_code == 200, (url, response.status_code)
        sizes[label] = len(response.content)
        s = reporting.summary_ms(samples)
        rows.append([label_code, label, f"{statistics.median(samples) * 1000:.1f}", f"{s['p95']:.1f}",
                     f"{statistics.median(cpu) * 1000:.1f}", f"{sizes[label] / 1024:.0f} KB"])
    if not args.keep:
        _clear()

    info = reporting.machine_info()
    body = "\n".join([
        reporting.machine_line(info), "",
        f"650 seats; {counts['sessions']} sessions ({counts['slots']} slots) in {counts['seats']} seats over "
        f"{args.days} days, {counts['bookings']} bookings on the slots of the first week (about 85% proven, the "
        f"rest unproven holds). {args.requests} requests per page through Django's test client (server time, no "
        "network), after one warm-up request; the dashboard's default period is the next "
        f"{settings.COVERAGE_DEFAULT_DAYS} days.", "",
        reporting.markdown_table(["code", "page", "median ms", "p95 ms", "Python CPU ms (median)", "HTML"], rows), "",
        reporting.markdown_table(["map paths", "seconds"], [[k, f"{v:.2f}"] for k, v in build.items()]),
    ])
    print(HEADING + "\n\n" + body)
    if args.write:
        reporting.benchmarks_section_write(HEADING, body)


def _head() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _clear() -> None:
    from sessions.models import CanvassSession
    from volunteers.models import Booking, Volunteer

    Booking.objects.filter(slot__session__title__startswith="bench-dashboard")._raw_delete("default")
    CanvassSession.objects.filter(title__startswith="bench-dashboard").delete()
    Volunteer.objects.filter(name="bench-dashboard volunteer").delete()


def _counts() -> dict:
    from sessions.models import CanvassSession, Slot
    from volunteers.models import Booking

    sessions = CanvassSession.objects.filter(title__startswith="bench-dashboard")
    return {"sessions": sessions.count(), "slots": Slot.objects.filter(session__in=sessions).count(),
            "seats": sessions.values("seat").distinct().count(),
            "bookings": Booking.objects.filter(slot__session__in=sessions).count()}


def _seed(args, rng, user, seats) -> dict:
    """COPY the sessions, slots, volunteers and bookings (a bulk_create of 100,000 sessions took minutes)."""
    from django.db import transaction
    from django.utils import timezone

    from core.db import copy_insert, ids_reserve
    from sessions.models import CanvassSession, MeetingPoint, Slot
    from volunteers.models import Booking, Volunteer

    now = timezone.now()
    week = now + timedelta(days=8)
    with transaction.atomic():
        points = {}
        for seat in seats:
            points[seat.pk] = (MeetingPoint.objects.filter(seat=seat, name="bench-dashboard room").first()
                               or MeetingPoint.objects.create(
                host=user, name="bench-dashboard room", address="1 Bench Street", postcode="S1 1AA", lat=seat.lat,
                lng=seat.lng, public_lat=seat.lat, public_lng=seat.lng, seat=seat, capacity=40)).pk
        session_ids = ids_reserve(CanvassSession, args.sessions)
        session_rows, slot_rows = [], []
        for n, session_id in enumerate(session_ids):
            seat = seats[n % len(seats)]
            starts = now + timedelta(days=1 + n % args.days, hours=rng.randint(0, 8))
            session_rows.append((session_id, points[seat.pk], seat.pk, f"bench-dashboard {n}", seat.lat, seat.lng,
                                 "S1", starts, starts + timedelta(hours=6), CanvassSession.Status.PUBLISHED))
            for k in range(3):
                slot_rows.append((session_id, starts + timedelta(hours=2 * k), starts + timedelta(hours=2 * k + 2),
                                  rng.randint(4, 12)))
        copy_insert(CanvassSession, ("id", "meeting_point", "seat", "title", "lat", "lng", "postcode_district",
                                     "starts_at", "ends_at", "status"), session_rows)
        slot_ids = ids_reserve(Slot, len(slot_rows))
        volunteers = 20_000
        volunteer_ids = ids_reserve(Volunteer, volunteers)
        copy_insert(Volunteer, ("id", "phone", "name", "postcode", "lat", "lng", "phone_verified_at"),
                    ((pk, f"+4479{90000000 + i:08d}", "bench-dashboard volunteer", "S1 1AA", 53.0, -1.5, now)
                     for i, pk in enumerate(volunteer_ids)))
        final_slots, bookings = [], []
        for slot_id, (session_id, starts, ends, capacity) in zip(slot_ids, slot_rows, strict=True):
            taken = rng.randint(0, capacity)
            if starts < week:  # the dashboard's period: real booking rows behind the count
                for volunteer_id in rng.sample(volunteer_ids, taken):
                    bookings.append((volunteer_id, slot_id, now if rng.random() < 0.85 else None))
            final_slots.append((slot_id, session_id, starts, ends, capacity, taken))
        copy_insert(Slot, ("id", "session", "starts_at", "ends_at", "capacity", "confirmed_count"), final_slots)
        copy_insert(Booking, ("volunteer", "slot", "proven_at"), bookings,
                    same={"status": Booking.Status.CONFIRMED, "source": Booking.Source.DIRECT})
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"sessions": len(session_rows), "slots": len(final_slots), "seats": len(seats), "bookings": len(bookings)}


if __name__ == "__main__":
    main()

"""Server time of the coordinators' coverage dashboard with all 650 seats, next to /health/ in the same run.

Loads the 650 seats and their adjacency, then SESSIONS sessions of three slots over a period in as many seats
as --seats (slot fill drawn at random), and times GET /coordinate/ through Django's test client (no network)
for both maps and both colourings, plus the seat page. Also times the first build of the map paths, with and
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
import _common as common  # noqa: E402  (bench/ is not a package)

HEADING = "## Coordinators' coverage dashboard (bench/coordinator_dashboard.py)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_args(parser)
    parser.add_argument("--sessions", type=int, default=2000, help="Sessions in the period (default %(default)s).")
    parser.add_argument("--seats", type=int, default=400, help="Seats that have sessions (default %(default)s).")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per page (default %(default)s).")
    args = parser.parse_args()
    common.django_setup(database_url=args.database_url, redis_url=None)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from seats.models import Seat
    from sessions.models import CanvassSession, MeetingPoint, Slot
    from web.coordinators import maps

    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(args.seed)
    data_dir = common.shared_data_dir()
    if Seat.objects.count() < 650:
        common.reference_data_load(data_dir)
    CanvassSession.objects.filter(title__startswith="bench-dashboard").delete()
    user = get_user_model().objects.filter(username="bench-coordinator").first() or get_user_model().objects.create_user(
        username="bench-coordinator", password="x-bench-password-1", is_staff=True)
    seats = rng.sample(list(Seat.objects.all()), min(args.seats, 650))
    now = timezone.now()
    sessions, slots = [], []
    for n in range(args.sessions):
        seat = seats[n % len(seats)]
        point = MeetingPoint.objects.filter(seat=seat, name="bench-dashboard room").first() or MeetingPoint.objects.create(
            host=user, name="bench-dashboard room", address="1 Bench Street", postcode="S1 1AA", lat=seat.lat,
            lng=seat.lng, public_lat=seat.lat, public_lng=seat.lng, seat=seat, capacity=40)
        starts = now + timedelta(days=1 + n % 6, hours=rng.randint(0, 8))
        sessions.append(CanvassSession(meeting_point=point, seat=seat, title=f"bench-dashboard {n}", lat=seat.lat,
                                       lng=seat.lng, postcode_district="S1", starts_at=starts,
                                       ends_at=starts + timedelta(hours=6)))
    CanvassSession.objects.bulk_create(sessions)
    for session in sessions:
        for k in range(3):
            capacity = rng.randint(4, 12)
            slots.append(Slot(session=session, starts_at=session.starts_at + timedelta(hours=2 * k),
                              ends_at=session.starts_at + timedelta(hours=2 * k + 2), capacity=capacity,
                              confirmed_count=rng.randint(0, capacity)))
    Slot.objects.bulk_create(slots, batch_size=2000)

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
    pages = {"/health/": "/health/", "dashboard, hex, priority": "/coordinate/",
             "dashboard, boundaries, how full": "/coordinate/?map=boundaries&colour=fill",
             "dashboard, sorted by places": "/coordinate/?sort=-places",
             "seat page": f"/coordinate/seats/{seats[0].pk}/"}
    rows, sizes = [], {}
    for label, url in pages.items():
        client.get(url)  # warm: the map shapes are built or read once per process
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        sizes[label] = len(response.content)
        s = common.summary_ms(samples)
        rows.append([label, f"{statistics.median(samples) * 1000:.1f}", f"{s['p95']:.1f}",
                     f"{sizes[label] / 1024:.0f} KB"])
    CanvassSession.objects.filter(title__startswith="bench-dashboard").delete()

    info = common.machine_info()
    body = "\n".join([
        common.machine_line(info), "",
        f"650 seats, {args.sessions} sessions ({len(slots)} slots) in {len(seats)} seats over six days; "
        f"{args.requests} requests per page through Django's test client (server time, no network), after one "
        "warm-up request.", "",
        common.markdown_table(["page", "median ms", "p95 ms", "HTML"], rows), "",
        common.markdown_table(["map paths", "seconds"], [[k, f"{v:.2f}"] for k, v in build.items()]),
    ])
    print(HEADING + "\n\n" + body)
    if args.write:
        common.benchmarks_section_write(HEADING, body)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""A 100,000-row bookings CSV export: time and peak memory in the serving process (issue 13).

One gunicorn sync worker serves, in turn:

  streamed      GET /api/exports/bookings/ as a coordinator: the app's export (volunteers.exports through
                core.exports.csv_response): values_list().iterator() on a server-side cursor, written to a
                StreamingHttpResponse 200 rows a chunk.
  materialised  the baseline, same process, same rows and CSV writer: the query materialised in a list and the
                whole file built as one HttpResponse (bench/export_urls.py; not part of the app).
  trivial       GET /health/: what a request costs the worker with no rows at all.

Each measurement gets a fresh gunicorn (one worker, warmed by /health/ and a zero-row request of its variant), so
memory that one variant freed cannot hide another's growth. Before the request the worker's peak RSS is reset
(``echo 5 > /proc/<pid>/clear_refs``); after it, peak RSS (VmHWM) minus the RSS before is the request's peak
memory, measured in the serving process; with the worker's CPU time and the client's time to first and last byte.
Variants alternate for --rounds rounds; medians are reported.

--write replaces "## CSV export (issue 13)" in BENCHMARKS.md with the printed block.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

SECTION = "CSV export"
VARIANTS = {
    "streamed": ("/api/exports/bookings/", "/api/exports/bookings/?seat=E00000000"),
    "materialised": ("/bench/export-list/", "/bench/export-list/?seat=E00000000"),
    "trivial": ("/health/", "/health/"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser)
    parser.add_argument("--bookings", type=int, default=100_000, help="Bookings in the export (default: %(default)s).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of the three variants (default: %(default)s).")
    return parser.parse_args(argv)


def seed(count: int, rng: random.Random) -> None:
    """`count` bookings over count/500 slots of 10 seats, each with its own volunteer; kept if already there."""
    from django.db import transaction
    from django.utils import timezone

    from seats.models import Seat
    from sessions.models import CanvassSession, MeetingPoint, Slot
    from volunteers.models import Booking, Volunteer

    if Booking.objects.count() == count:
        return
    with transaction.atomic():
        for model in (Booking, Volunteer, Slot, CanvassSession, MeetingPoint):
            model.objects.all().delete()
        from django.contrib.auth import get_user_model

        host = get_user_model().objects.get_or_create(username="bench-host")[0]
        seats = [Seat.objects.update_or_create(ons_code=f"E1409{n:04d}", defaults={
            "name": f"Bench seat {n}", "lat": 53.0 + n / 100, "lng": -1.5, "region": "Bench"})[0] for n in range(10)]
        start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
        slots = []
        for n in range(max(1, count // 500)):
            seat = seats[n % len(seats)]
            point = MeetingPoint.objects.create(host=host, name=f"Room {n}", address=f"{n} Bench Street\nTown",
                                                postcode="S10 1AA", lat=seat.lat, lng=seat.lng, public_lat=seat.lat,
                                                public_lng=seat.lng, seat=seat, capacity=600)
            begins = start + timedelta(hours=n % 48)
            session = CanvassSession.objects.create(
                meeting_point=point, seat=seat, title=f"Bench doors {n} =1+1", lat=seat.lat, lng=seat.lng,
                postcode_district="S10", starts_at=begins, ends_at=begins + timedelta(hours=2))
            slots.append(Slot.objects.create(session=session, starts_at=begins, ends_at=begins + timedelta(hours=2),
                                             capacity=600))
        base = (Volunteer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        volunteers = [Volunteer(pk=base + i, phone=dataset.uk_mobile(i), name=f"Volunteer {i}", postcode="S10 1AA",
                                lat=53.38, lng=-1.5, consent_sms=True) for i in range(count)]
        dataset.copy_models(Volunteer, volunteers)
        dataset.sequence_reset(Volunteer)
        statuses = ["confirmed"] * 7 + ["waitlisted", "cancelled", "pending"]
        first = (Booking.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        dataset.copy_models(Booking, (Booking(pk=first + i, volunteer_id=v.pk, slot=slots[i % len(slots)],
                                             status=rng.choice(statuses)) for i, v in enumerate(volunteers)))
        dataset.sequence_reset(Booking)
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE volunteers_booking; ANALYZE volunteers_volunteer")


def _status(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker_of(master: int) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                return int(entry)
    raise RuntimeError("no gunicorn worker found")


def measure(variant: str, *, token: str, log_path: Path) -> dict:
    """One request of `variant` to a fresh one-worker gunicorn: bytes, times, worker CPU and peak RSS growth."""
    import requests

    path, warm = VARIANTS[variant]
    port = stack.free_port()
    command = [str(Path(sys.executable).with_name("gunicorn")), "bench.export_wsgi:application", "--bind",
               f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync", "--timeout", "300",
               "--log-level", "warning"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=dataset.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {token}", "Accept": "text/csv, */*"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/health/", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)
        for _ in range(3):
            assert requests.get(base + warm, headers=headers, timeout=30).status_code == 200
        worker = _worker_of(process.pid)
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
        before = _status(worker)["VmRSS"]
        cpu_before = _cpu(worker)
        started = time.perf_counter()
        first = None
        size = 0
        with requests.get(base + path, headers=headers, stream=True, timeout=300) as response:
            assert response.status_code == 200, response.text[:300]
            for chunk in response.iter_content(65536):
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
        total = time.perf_counter() - started
        time.sleep(0.05)
        peak = _status(worker)["VmHWM"]
        return {"variant": variant, "bytes": size, "ttfb_s": first or total, "total_s": total,
                "cpu_s": _cpu(worker) - cpu_before, "rss_before": before, "peak_growth": max(0, peak - before)}
    finally:
        stack.process_group_stop(process, timeout=20)


def main(argv=None) -> int:
    args = parse_args(argv)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    rng = random.Random(args.seed)
    print(f"seeding {args.bookings:,} bookings ...", file=sys.stderr)
    seed(args.bookings, rng)
    coordinator = get_user_model().objects.update_or_create(username="bench-coordinator",
                                                            defaults={"is_staff": True})[0]
    token = Token.objects.get_or_create(user=coordinator)[0].key
    info = reporting.machine_info()
    log_path = Path("/tmp") / f"bench-export-{os.getpid()}.log"
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for round_no in range(args.rounds):
        for variant in VARIANTS:
            result = measure(variant, token=token, log_path=log_path)
            results[variant].append(result)
            print(f"round {round_no + 1} {variant}: {result['total_s']:.2f} s, "
                  f"peak +{result['peak_growth'] / 2**20:.1f} MiB, {result['bytes'] / 2**20:.1f} MiB",
                  file=sys.stderr)

    def med(variant: str, key: str) -> float:
        return statistics.median(r[key] for r in results[variant])

    rows = []
    for variant in VARIANTS:
        rows.append([variant, f"{med(variant, 'bytes') / 2**20:.1f} MiB", f"{med(variant, 'ttfb_s') * 1000:.0f} ms",
                     f"{med(variant, 'total_s'):.2f} s", f"{med(variant, 'cpu_s'):.2f} s",
                     f"{med(variant, 'rss_before') / 2**20:.0f} MiB",
                     f"{med(variant, 'peak_growth') / 2**20:.1f} MiB"])
    streamed, listed = med("streamed", "peak_growth"), med("materialised", "peak_growth")
    body = "\n\n".join([
        reporting.machine_line(info),
        f"`.venv/bin/python bench/export.py --bookings {args.bookings} --rounds {args.rounds}`: "
        f"{args.bookings:,} bookings exported as CSV (`GET /api/exports/bookings/`) by one gunicorn sync worker, "
        "a fresh one per measurement; medians of the rounds. Peak growth: the worker's peak RSS during the request "
        "minus its RSS before (VmHWM after `clear_refs`), in the serving process.",
        reporting.markdown_table(["variant", "file", "first byte", "whole file", "worker CPU", "worker RSS before",
                               "peak RSS growth"], rows),
        f"Streaming keeps the export's peak memory at {streamed / 2**20:.1f} MiB over the worker's idle size, "
        f"against {listed / 2**20:.0f} MiB when the same rows are materialised in a list and the file built in "
        "memory; the first byte leaves "
        f"after {med('streamed', 'ttfb_s') * 1000:.0f} ms instead of {med('materialised', 'ttfb_s'):.1f} s.",
    ])
    print(f"## {SECTION}\n\n{body}")
    if args.write:
        reporting.benchmarks_section_write(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""The first booking's one statement vs the ORM path: CPU per booking request, side by side, in process.

volunteers.services holds a hand-written statement (`_first_booking_statement`, PostgreSQL) that reads the slot and
inserts the volunteer, the booking, its event and the phone challenge in one round trip. The house rule: a
hand-written statement stays only while a measurement says it pays; for this one, at least 15% of a booking
request's CPU. This bench books through the production WSGI stack (bench/request_cpu.Wsgi: middleware, DRF, the
service), a new phone each time, to slots with room, alternating rounds of

  statement   the code as it is (the one statement, then the outbox row and the claim)
  orm         the same request with the statement skipped (the slot read with the ORM, then the general path the
              code takes on SQLite, when the slot is full, or when the phone already has a row)

in the order A B B A A B ..., so both sides see the same load. CPU per booking request is this process's
(time.process_time: middleware, DRF, the service, psycopg) plus that of the PostgreSQL backend serving its
connection (/proc, on the same machine): what a booking costs the two cores, whatever else runs. Data as bench/request_cpu.py prepares it, on a database of this script's own.

  .venv/bin/python bench/first_booking.py --rounds 8 --requests 150
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_first_booking"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
VARIANTS = ("statement", "orm")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="Bench database (created and migrated on first use). Default: %(default)s")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
                        help="Broker the bookings publish their tasks to (emptied at the end). Default: %(default)s")
    parser.add_argument("--sessions", type=int, default=2000, help="Published sessions to seed. Default: %(default)s")
    parser.add_argument("--reuse", action="store_true", help="Keep the seeded sessions if the count matches.")
    parser.add_argument("--booking-sessions", type=int, default=600,
                        help="Sessions whose slots take the bookings (enough room for every request). "
                             "Default: %(default)s")
    parser.add_argument("--requests", type=int, default=150, help="Timed booking requests per round. Default: %(default)s")
    parser.add_argument("--rounds", type=int, default=8, help="Rounds per variant, interleaved. Default: %(default)s")
    parser.add_argument("--warm-up", type=int, default=30, help="Untimed requests per variant first. Default: %(default)s")
    parser.add_argument("--seed", type=int, default=2017)
    return parser.parse_args(argv)


def orm_path(monkeypatch_target) -> tuple[object, object]:
    """Skip the statement: read the slot with the ORM and leave the rest to the general path."""
    from core.db import get_with_related
    from sessions.models import Slot

    original = monkeypatch_target._booking_first_hold

    def replacement(*, slot_id, **_):
        return get_with_related(Slot, slot_id, related=monkeypatch_target.SLOT_RELATED), None

    return original, replacement


def backend_cpu(pid: int) -> float:
    """user + system CPU seconds of a PostgreSQL backend on this machine (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.load import RAISED_LIMITS, data_prepare
    from bench.request_cpu import Mix, Wsgi, queue_empty

    os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true", "DEBUG": "false",
                       "SMS_RATE_PER_SECOND": "0", "CELERY_TASK_ALWAYS_EAGER": "false",
                       "DATABASE_CONN_MAX_AGE": "3600", "LOG_LEVEL": "WARNING"})
    os.environ.pop("SMS_BACKEND", None)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    data = data_prepare(argparse.Namespace(sessions=args.sessions, reuse=args.reuse, seed=args.seed,
                                           booking_sessions=args.booking_sessions, postcodes=1000),
                        dataset.shared_data_dir())
    needed = (args.requests * args.rounds + args.warm_up) * len(VARIANTS)
    if data["places"] < needed:
        raise SystemExit(f"{data['places']} places for {needed} bookings: raise --booking-sessions")
    from django.db import connection

    from volunteers import services

    connection.close()
    info = reporting.machine_info()
    original, replacement = orm_path(services)
    mix = Mix(Wsgi(), data, args.seed)
    results: dict[str, list[tuple[float, float, float]]] = {v: [] for v in VARIANTS}
    progress = reporting.Progress("first_booking", total=args.rounds * len(VARIANTS))

    def run(variant: str, n: int) -> tuple[float, float, float]:
        services._booking_first_hold = original if variant == "statement" else replacement
        mix.request("book")  # opens (or keeps) the connection whose backend is measured
        backend = connection.connection.info.backend_pid
        before = backend_cpu(backend)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            mix.request("book")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if connection.connection.info.backend_pid != backend:
            raise SystemExit("the connection changed backend during a round")
        return cpu / n * 1000, wall / n * 1000, (backend_cpu(backend) - before) / n * 1000

    try:
        for variant in VARIANTS:
            run(variant, args.warm_up)
        for round_ in range(args.rounds):
            order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                results[variant].append(run(variant, args.requests))
                cpu, _, pg = results[variant][-1]
                progress.step(f"round {round_ + 1} {variant}: {cpu:.2f} ms CPU here, {pg:.2f} ms in PostgreSQL")
    finally:
        services._booking_first_hold = original
        queue_empty(args.redis_url)
    errors = mix.errors["book"]
    total = {v: [c + pg for c, _, pg in results[v]] for v in VARIANTS}
    ratios = [o / s for s, o in zip(total["statement"], total["orm"], strict=True)]
    median = {v: {"cpu": statistics.median(c for c, _, _ in results[v]), "wall": statistics.median(w for _, w, _ in results[v]),
                  "pg": statistics.median(p for _, _, p in results[v]), "total": statistics.median(total[v])}
              for v in VARIANTS}
    saving = 1 - median["statement"]["total"] / median["orm"]["total"]
    print(reporting.machine_line(info))
    print()
    print(f"`python bench/first_booking.py --rounds {args.rounds} --requests {args.requests}` "
          f"({args.sessions} sessions; booking requests to slots with room, a new phone each)")
    print()
    print(reporting.markdown_table(
        ["variant", "CPU ms/booking: Django + PostgreSQL backend", "Django process", "PostgreSQL backend",
         "wall ms/request", "rounds (total CPU ms)"],
        [[v, f"**{median[v]['total']:.2f}**", f"{median[v]['cpu']:.2f}", f"{median[v]['pg']:.2f}",
          f"{median[v]['wall']:.2f}", ", ".join(f"{t:.2f}" for t in total[v])] for v in VARIANTS]))
    print()
    print(f"The statement saves {saving:.1%} of the ORM path's CPU per booking request (medians of rounds, the Django "
          f"process and its PostgreSQL backend); ORM / statement per pair: {', '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.2f}). Unexpected answers: {len(errors)}"
          f"{' e.g. ' + errors[0] if errors else ''}.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

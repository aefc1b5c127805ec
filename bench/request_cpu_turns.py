#!/usr/bin/env python
"""Two checkouts' CPU per request, in process, taking turns round by round (bench/request_cpu.py's requests).

On a shared machine the CPU one request costs moves with the load by ±30% from one minute to the next, so two
checkouts measured one after the other differ by more than most changes. This runs one side per process (start
one from each checkout, e.g. main's in a `git archive` copy), on the same database one after the other for the
set-up, then round by round in turn (a token file says whose round it is), so each pair of rounds sees the same
load. Each round times --requests requests of each of --kinds (bench/request_cpu.py's Mix and timed()) and
appends a JSON line to --out. Data as bench/request_cpu.py prepares it (--reuse: its sessions kept, bookings
truncated); the second side's phones start at 500,000 so that no request repeats the other side's.

  # in main's copy and in the branch, at the same time:
  .venv/bin/python bench/request_cpu_turns.py --side A --out /tmp/turns/main.jsonl
  .venv/bin/python bench/request_cpu_turns.py --side B --out /tmp/turns/branch.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, request_cpu  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", choices=("A", "B"), required=True, help="A sets up first and takes the first round.")
    parser.add_argument("--out", required=True, help="JSON lines, one per round.")
    parser.add_argument("--token", default="/tmp/request_cpu_turns.token", help="The file that says whose turn it is.")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 request_cpu.DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", request_cpu.DEFAULT_REDIS_URL))
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--kinds", default="health,book,proof")
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=8)
    return parser.parse_args(argv)


def turn_wait(token: str, whose: str) -> None:
    while True:
        try:
            if Path(token).read_text().strip() == whose:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.2)


def turn_give(token: str, whose: str) -> None:
    Path(f"{token}.tmp").write_text(whose)
    os.replace(f"{token}.tmp", token)


def main(argv=None) -> int:
    args = parse_args(argv)
    me, other = args.side, "B" if args.side == "A" else "A"
    kinds = args.kinds.split(",")
    if me == "A":
        turn_give(args.token, "A-setup")
    turn_wait(args.token, f"{me}-setup")
    from bench.load import RAISED_LIMITS, data_prepare

    os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true", "DEBUG": "false", "SMS_RATE_PER_SECOND": "0",
                       "CELERY_TASK_ALWAYS_EAGER": "false", "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING"})
    os.environ.pop("SMS_BACKEND", None)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    defaults = request_cpu.parse_args([])
    data = data_prepare(argparse.Namespace(sessions=args.sessions, reuse=True, seed=defaults.seed,
                                           booking_sessions=defaults.booking_sessions, postcodes=defaults.postcodes),
                        dataset.shared_data_dir())
    from django.db import connection

    connection.close()  # the application's requests open their own, as under gunicorn
    mix = request_cpu.Mix(request_cpu.Wsgi(), data, defaults.seed)
    mix.next_phone = 0 if me == "A" else 500_000
    try:
        for kind in kinds:
            if kind == "proof":
                mix.proofs_prepare(defaults.warm_up)
            for _ in range(defaults.warm_up):
                mix.request(kind)
        turn_give(args.token, "B-setup" if me == "A" else "A")
        with open(args.out, "a") as out:
            for number in range(args.rounds):
                turn_wait(args.token, me)
                row = {"side": me, "round": number, "load": float(Path("/proc/loadavg").read_text().split()[0]),
                       "at": time.strftime("%H:%M:%S", time.gmtime())}
                row.update({kind: request_cpu.timed(mix, kind, args.requests)[0] for kind in kinds})
                out.write(json.dumps(row) + "\n")
                out.flush()
                turn_give(args.token, other)
    finally:
        request_cpu.queue_empty(args.redis_url)
    errors = {kind: len(found) for kind, found in mix.errors.items() if found}
    print(f"side {me}: {args.rounds} rounds; unexpected answers: {errors or 'none'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

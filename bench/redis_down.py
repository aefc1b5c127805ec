#!/usr/bin/env python
"""Booking latency with Redis unreachable (issue 14): does a booking wait on the dead broker?

Serves the app with gunicorn (2 workers, gthread, 4 threads) on PostgreSQL and sends --bookings booking requests
(POST /api/slots/<id>/bookings/, each a new valid UK mobile, the first of the volunteer's two steps: it writes the
booking, its code text in the SMS outbox, and publishes the text's task on commit) from --clients concurrent
clients, in these runs, all in one invocation:

  redis up      Redis running (a redis-server of the script's own, no persistence): the baseline
  redis down    REDIS_URL on a port nobody listens on (connection refused), this checkout
  redis hung    a socket that accepts connections and never answers (the socket timeouts), this checkout
  before        redis down, served from a git worktree of --before-ref (the code before the fix), if given

Broker and rate-limit cache are the same Redis, as in docker-compose. The rate limits are counted (raised so one
client address can book thousands of times), so the limiter's fail-open path is in the figures too. Every request
must be answered 202; in the down runs the texts stay pending in the outbox for the sweep (tests/api/
test_redis_down.py shows the sweep sending them). --write replaces its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

SECTION = "Redis unreachable: booking latency"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_redis_down"
RAISED_LIMITS = {f"RATE_LIMIT_{scope.upper()}": "100000000/h" for scope in (
    "booking_ip", "booking_phone", "code_send_phone", "code_send_ip", "sms_phone_day")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_REDIS_DOWN_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="PostgreSQL database of its own (created and migrated; its bookings are deleted at the "
                             "start). Default: %(default)s.")
    parser.add_argument("--bookings", type=int, default=300, help="Booking requests per run (default: %(default)s).")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent clients (default: %(default)s).")
    parser.add_argument("--before-ref", default="",
                        help="A git commit to serve as the 'before' run (e.g. the commit before the fix).")
    parser.add_argument("--write", action="store_true", help="Replace this script's section of BENCHMARKS.md.")
    return parser.parse_args(argv)


@contextmanager
def hung_redis():
    """Accepts TCP connections (the kernel's backlog) and never answers: every command waits for a timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    try:
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    finally:
        sock.close()


@contextmanager
def worktree(ref: str):
    path = Path(tempfile.mkdtemp(prefix="frontroom-before-"))
    subprocess.run(["git", "-C", str(dataset.REPO_ROOT), "worktree", "add", "--detach", str(path), ref], check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(dataset.REPO_ROOT), "worktree", "remove", "--force", str(path)],
                       capture_output=True)


def fixture() -> int:
    """One open slot with room for every booking of every run (made once, then reused); earlier bookings deleted."""
    from seats.models import Postcode
    from sessions.models import Slot
    from volunteers.models import Booking, Volunteer

    Booking.objects.all().delete()
    Volunteer.objects.all().delete()
    slot = Slot.objects.filter(capacity=1_000_000).first()
    if slot is None:
        slot = dataset.bench_slot(host_username="bench-redis-down-host", capacity=1_000_000)
        Postcode.objects.get_or_create(postcode="S10 1AA", defaults={"lat": 53.38, "lng": -1.50, "seat": slot.session.seat})
    return slot.pk


def drive(base: str, slot_id: int, phones: list[str], clients: int) -> dict:
    import requests

    local = threading.local()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(phone: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = session.post(f"{base}/api/slots/{slot_id}/bookings/", json={
            "name": "Bench Volunteer", "phone": phone, "postcode": "S10 1AA", "consent_sms": True}, timeout=60)
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, phones))
    wall = time.perf_counter() - started
    return {"latency": reporting.summary_ms(latencies), "statuses": statuses, "rate": len(phones) / wall,
            "over_1s": sum(1 for x in latencies if x > 1.0)}


def main(argv=None) -> int:
    args = parse_args(argv)
    dataset.django_setup(database_url=args.database_url, redis_url=None)
    info = reporting.machine_info()
    slot_id = fixture()
    env = {"DATABASE_URL": args.database_url, "RATE_LIMITS_ENABLED": "true", "LOG_LEVEL": "ERROR",
           "CELERY_TASK_ALWAYS_EAGER": "false", **RAISED_LIMITS}
    runs: list[tuple[str, dict]] = []
    phone_numbers = iter(range(10_000_000))

    def run(name: str, redis_url: str, cwd: Path | None = None) -> None:
        phones = [dataset.uk_mobile(next(phone_numbers)) for _ in range(args.bookings)]
        print(f"{name}: {args.bookings} bookings, {args.clients} clients ...", flush=True)
        with stack.gunicorn_running(workers=2, worker_class="gthread", threads=4, cwd=cwd,
                                     env={**env, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url}) as base:
            outcome = drive(base, slot_id, phones, args.clients)
        print(f"  {outcome}", flush=True)
        runs.append((name, outcome))

    with stack.PrivateRedis() as server:
        run("redis up (baseline)", server.url())
    dead = f"redis://127.0.0.1:{stack.free_port()}/0"
    run("redis down (refused)", dead)
    with hung_redis() as url:
        run("redis hung (no answer)", url)
    if args.before_ref:
        with worktree(args.before_ref) as path:
            run(f"redis down (refused), before: {args.before_ref[:10]}", dead, cwd=path)

    ok = all(set(outcome["statuses"]) == {202} for _, outcome in runs)
    rows = [[name, f"{o['latency']['p50']:.0f}", f"{o['latency']['p95']:.0f}", f"{o['latency']['p99']:.0f}",
             f"{o['latency']['max']:.0f}", o["over_1s"], f"{o['rate']:.1f}",
             ", ".join(f"{k}: {v}" for k, v in sorted(o["statuses"].items()))] for name, o in runs]
    body = "\n".join([
        reporting.machine_line(info), "",
        f"`bench/redis_down.py --bookings {args.bookings} --clients {args.clients}"
        f"{' --before-ref ' + args.before_ref if args.before_ref else ''}`: the first step of a booking "
        f"(`POST /api/slots/<id>/bookings/`) through gunicorn (2 gthread workers, 4 threads) on PostgreSQL, "
        f"{args.clients} concurrent clients, rate limits on (raised for one address; counted in Redis, so they "
        f"fail open when it is down). Broker and rate-limit cache are one Redis, as in docker-compose.", "",
        reporting.markdown_table(["run", "p50 ms", "p95 ms", "p99 ms", "max ms", "requests > 1 s", "bookings/s",
                               "answers"], rows), "",
        "No worker consumes in any run: each booking pays for its publish (or its failed attempt), not for the "
        "send. In the down runs the texts wait in the outbox for the sweep (tests/api/test_redis_down.py shows "
        "it sending them). All answered 202: " + ("yes." if ok else "**no**."),
    ])
    print(body)
    if args.write:
        reporting.benchmarks_section_write(SECTION, body)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

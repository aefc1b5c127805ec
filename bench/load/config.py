"""The load bench's constants, options and log line."""

from __future__ import annotations

import argparse
import os
import sys
import time

CLI_DOC = """Election-weekend load and faults (issue 14).

Serves the app as production does (gunicorn gthread, 2 workers x 4 threads, DEBUG off) on PostgreSQL and a
redis-server of this script's own, with a real Celery worker (prefork, 8 children) and Celery beat running,
and SMS through the `twilio` SDK to a loopback Twilio (tools/fake_twilio.py, its own process, answering
after --twilio-latency seconds as the real one does). Then drives it with an open-loop asyncio client
(aiohttp): requests are sent on a Poisson schedule whatever the server's answers, so a slow server
cannot slow the client down, and each latency counts from the moment the request was due.

The mix, per user action: 70% searches (half the results page `/find/?postcode=`, half the API
`/api/sessions/?near=`), 20% session pages (`/s/<id>/`), 10% bookings in the volunteer's two steps:
`POST /api/slots/<id>/bookings/` (202 and a texted code), then `POST /api/challenges/<token>/verify/` with
the code read from the SMS outbox in the database (bench/booking.py's proof step). A booking's two steps are
two requests, so one action is 1.1 requests on average; rates below are HTTP requests per second. Postcodes:
--postcodes distinct real GB postcodes (a seat picked uniformly, then a postcode in it, as bench/search.py
does). Bookings go to the slots of --booking-sessions sessions, so slots fill and waitlists (and the
workers' overflow to neighbouring seats) form.

Load mode (the default), in one run:
  1. baseline: `GET /health/` closed-loop with --health-clients clients: the trivial endpoint's ceiling;
  2. steps: the offered rate goes up through --rates, --step-seconds each, until p95 passes --p95-ms or
     any request fails (a status other than the expected one, a connection error, a timeout); the highest
     step that passed is the sustained rate, reported with p50/p95/p99 of every step;
  3. the mix's CPU-accounted ceiling: CPU per request of this run's processes (Linux /proc: the gunicorn,
     Celery, PostgreSQL backends of this database, redis-server, loopback Twilio and this client), so
     cores / CPU per request is the most the machine could serve of this mix;
  4. verification in the database once the outbox has drained: every booking the client saw a 2xx for is
     stored exactly once (and proven when the proof got 200), no slot is over capacity and confirmed_count
     agrees, every text for those volunteers was sent exactly once (the loopback Twilio's log against the
     outbox rows), nothing left unsent.

Faults mode (--faults): the same stack against a PRIVATE PostgreSQL (initdb on a free port under /tmp,
started and stopped by this script; the shared server on 5432 is never touched) and the private Redis.
A short ramp finds the sustained rate on that stack (unless --fault-rate is given), then under steady load
at half of it: PostgreSQL is stopped (immediate, as a crash) and started again after --outage-seconds, the
same for Redis, then a gunicorn worker and a Celery worker child (one that is waiting on Twilio mid-send, if
one can be found) are killed with SIGKILL. For each fault it reports what clients saw before, during and
after (2xx, 503 with and without Retry-After, 500, other statuses, connection errors, latency), waits for
beat's sweeps to send what the outages left behind, and runs the same verification. Bookings' two steps are
retried by the client (up to --retries times) after a 503, a 5xx or a connection error, honouring
Retry-After (at most 5 s), as a person would press the button again; that also tests that a repeated
request holds nothing twice.

Rate limits: on, as in production, but raised (RATE_LIMIT_*=100000000/h for the booking and code scopes,
SMS_RATE_PER_SECOND=0) for this run only, since every request comes from one address; the report says so.

Examples:
  .venv/bin/python -m bench.load --write                       # load mode as recorded (about 6 minutes)
  .venv/bin/python -m bench.load --rates 25,50 --step-seconds 5 --sessions 2000   # a quick try
  .venv/bin/python -m bench.load --faults --write              # faults mode (about 10 minutes)

--write replaces the load or the faults part of "## Election-weekend load and faults (issue 14)" in
BENCHMARKS.md. The exit status is 1 if the verification finds a lost or doubled booking, a slot over
capacity or a text not sent exactly once.
"""

SECTION = "Election-weekend load and faults"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_load"

DATABASE_NAME = "frontroom_bench_load"

MIX = (("search_page", 0.35), ("search_api", 0.35), ("session_page", 0.20), ("booking", 0.10))

REQUESTS_PER_ACTION = 1.1  # a booking is two requests

EXPECTED = {"search_page": 200, "search_api": 200, "session_page": 200, "book": 202, "proof": 200, "health": 200}

KINDS = ("search_page", "search_api", "session_page", "book", "proof")

CPU_CATEGORIES = ("gunicorn", "postgres", "redis", "celery", "twilio", "client")

SERVER_CATEGORIES = ("gunicorn", "postgres", "redis", "celery")

RAISED_LIMITS = {f"RATE_LIMIT_{scope.upper()}": "100000000/h" for scope in (
    "booking_ip", "booking_phone", "code_check_ip", "code_check_phone", "code_send_phone", "code_send_ip",
    "sms_phone_day")}

def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=CLI_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="PostgreSQL database for load mode (created and migrated if missing; default "
                             "%(default)s). Faults mode always uses a private server of its own.")
    parser.add_argument("--private-postgres", action="store_true",
                        help="Load mode against a private PostgreSQL too (initdb under /tmp), as faults mode is.")
    parser.add_argument("--seed", type=int, default=2017, help="Random seed (default: %(default)s).")
    parser.add_argument("--write", action="store_true", help="Write the results into BENCHMARKS.md.")
    parser.add_argument("--faults", action="store_true", help="Faults mode (see above).")
    data = parser.add_argument_group("data")
    data.add_argument("--sessions", type=int, default=100_000,
                      help="Published upcoming sessions, 2 slots each (default: %(default)s).")
    data.add_argument("--reuse", action="store_true",
                      help="Keep the sessions already in the database if there are exactly --sessions of them.")
    data.add_argument("--postcodes", type=int, default=5000, help="Distinct postcodes the client uses (default: %(default)s).")
    data.add_argument("--booking-sessions", type=int, default=50,
                      help="Sessions whose slots the bookings go to (default: %(default)s).")
    load = parser.add_argument_group("load")
    load.add_argument("--rates", default="10,25,50,75,100,150,200,300,400,500",
                      help="Offered HTTP requests/s of the steps, in order (default: %(default)s).")
    load.add_argument("--step-seconds", type=float, default=20.0, help="Seconds per step (default: %(default)s).")
    load.add_argument("--p95-ms", type=float, default=200.0, help="The p95 a step must stay under (default: %(default)s).")
    load.add_argument("--health-requests", type=int, default=10_000, help="Requests of the /health/ baseline.")
    load.add_argument("--health-clients", type=int, default=64, help="Concurrent clients of the /health/ baseline.")
    load.add_argument("--page-cache", choices=("on", "off", "both"), default="on",
                      help="The shared page cache: on, off, or both side by side (bench/load_cache.py).")
    load.add_argument("--zipf", type=float, default=0.0,
                      help="Skew the postcodes and session pages asked for (Zipf exponent; 0: uniform, as issue 14).")
    load.add_argument("--timeout", type=float, default=30.0, help="Client timeout per request, s (default: %(default)s).")
    load.add_argument("--retries", type=int, default=3,
                      help="Retries of a booking step after a 503/5xx/connection error (default: %(default)s).")
    stack = parser.add_argument_group("the stack")
    stack.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: %(default)s).")
    stack.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker (default: %(default)s).")
    stack.add_argument("--celery-concurrency", type=int, default=8, help="Celery prefork children (default: %(default)s).")
    stack.add_argument("--twilio-latency", type=float, default=0.1,
                       help="Seconds the loopback Twilio takes to answer a send (default: %(default)s).")
    stack.add_argument("--settle-timeout", type=float, default=None,
                       help="Seconds to wait for the outbox to drain before verifying (default: 120, faults 420).")
    faults = parser.add_argument_group("faults mode")
    faults.add_argument("--fault-rate", type=float, default=None,
                        help="Offered req/s during the faults (default: half the sustained rate of a short ramp).")
    faults.add_argument("--fault-ramp-seconds", type=float, default=8.0, help="Step length of that short ramp.")
    faults.add_argument("--outage-seconds", type=float, default=6.0,
                        help="How long PostgreSQL and Redis stay down (default: %(default)s).")
    faults.add_argument("--window-seconds", type=float, default=12.0,
                        help="Seconds of steady load before and after each fault (default: %(default)s).")
    args = parser.parse_args(argv)
    args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.settle_timeout is None:
        args.settle_timeout = 420.0 if args.faults else 120.0
    return args

def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

#!/usr/bin/env python
"""CPU per request of the election-weekend mix, in process (issue 14).

bench/load/ measures the mix against gunicorn, Celery and PostgreSQL together; this script measures what the
Django side of each request kind costs, in one process, so a change to a page can be judged in seconds and
with little noise from other load (time.process_time counts this process's CPU only).

Data as bench/load/ prepares it (collectstatic, the reference data, --sessions published sessions at real GB
postcodes, --postcodes distinct postcodes, bookings to the slots of --booking-sessions sessions), on a database
of this script's own. Each request is a WSGI call of config.wsgi.application (the production middleware stack,
DEBUG off, rate limits on and raised for one address as in load.py), the body read and the response closed as
gunicorn does; nothing else runs in between. Kinds:

  health        GET /health/ (the floor: Django's handler and the middleware stack)
  search_page   GET /find/?postcode=<random of the postcodes>
  search_api    GET /api/sessions/?near=<random of the postcodes>
  session_page  GET /s/<random published session>/
  book          POST /api/slots/<id>/bookings/ (a new phone each time; tasks are published to --redis-url,
                no worker consumes them, and the queue is emptied at the end)
  proof         POST /api/challenges/<token>/verify/ with the code read from the outbox (not timed)

--district-twin adds `search_page_orm`: the same results pages with the postcode district located by the ORM
(bench/sql_vs_orm_twins.district_locate in place of the one-statement lookup), interleaved with search_page, so
the statement's share of the page is measured in one run.

For each kind: CPU ms per request (process_time, mean over --requests after --warm-up), the same in wall time,
and the mix's weighted CPU per request (bench.load's weights: 35/35/20 and 10% bookings of two requests).
--rounds alternates the kinds round by round; --profile KIND prints cProfile's top functions for that kind.

  .venv/bin/python bench/request_cpu.py --sessions 100000 --requests 300
  .venv/bin/python bench/request_cpu.py --reuse --profile search_page
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_request_cpu"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
KINDS = ("health", "search_page", "search_api", "session_page", "book", "proof")
# Requests per user action of bench.load's mix: 0.35 + 0.35 + 0.20 + 0.10 bookings of two requests = 1.1.
MIX_WEIGHTS = {"search_page": 0.35, "search_api": 0.35, "session_page": 0.20, "book": 0.10, "proof": 0.10}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true",
                        help="Keep the sessions already in the database if there are exactly --sessions of them.")
    parser.add_argument("--postcodes", type=int, default=5000)
    parser.add_argument("--booking-sessions", type=int, default=50)
    parser.add_argument("--requests", type=int, default=300, help="Timed requests per kind and round.")
    parser.add_argument("--warm-up", type=int, default=30, help="Untimed requests per kind first.")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", choices=KINDS, help="cProfile this kind (one extra round) and print the top.")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--district-twin", action="store_true",
                        help="Also time search_page_orm: the results page with the district located by the ORM.")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[request_cpu] {message}", file=sys.stderr, flush=True)


class Wsgi:
    """Calls the WSGI application the way gunicorn does: one environ per request, body read, response closed."""

    def __init__(self):
        from config.wsgi import application

        self.app = application
        self.status = ""

    def _start_response(self, status, headers, exc_info=None):
        self.status = status

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        path, _, query = path.partition("?")
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_USER_AGENT": "Python/3.11 aiohttp/3.9", "HTTP_ACCEPT": "*/*",
            "HTTP_ACCEPT_ENCODING": "gzip, deflate",
            "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if body is not None:
            environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(data)))
        response = self.app(environ, self._start_response)
        try:
            content = b"".join(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        return int(self.status.split(" ", 1)[0]), content


class Mix:
    """Makes the requests of each kind; bookings hand their challenge tokens to the proofs."""

    EXPECTED = {"health": 200, "search_page": 200, "search_page_orm": 200, "search_api": 200, "session_page": 200, "book": 202,
                "proof": 200}

    def __init__(self, wsgi: Wsgi, data: dict, seed: int):
        self.wsgi, self.data = wsgi, data
        self.rng = random.Random(seed + 14)
        self.next_phone = 0
        self.tokens: list[str] = []
        self.proofs: list[tuple[str, str]] = []
        self.errors: dict[str, list[str]] = {kind: [] for kind in self.EXPECTED}

    def request(self, kind: str) -> None:
        if kind == "health":
            status, body = self.wsgi.call("GET", "/health/")
        elif kind in ("search_page", "search_page_orm"):
            postcode = self.rng.choice(self.data["postcodes"]).replace(" ", "+")
            status, body = self.wsgi.call("GET", f"/find/?postcode={postcode}")
        elif kind == "search_api":
            postcode = self.rng.choice(self.data["postcodes"]).replace(" ", "%20")
            status, body = self.wsgi.call("GET", f"/api/sessions/?near={postcode}")
        elif kind == "session_page":
            status, body = self.wsgi.call("GET", f"/s/{self.rng.choice(self.data['session_ids'])}/")
        elif kind == "book":
            phone = dataset.uk_mobile(self.next_phone)
            self.next_phone += 1
            payload = {"name": f"Volunteer {phone[-6:]}", "phone": phone,
                       "postcode": self.rng.choice(self.data["postcodes"]), "consent_sms": True}
            status, body = self.wsgi.call("POST", f"/api/slots/{self.rng.choice(self.data['booking_slots'])}/bookings/",
                                          payload)
            if status == 202:
                self.tokens.append(json.loads(body)["challenge"])
        else:
            token, code = self.proofs.pop()
            status, body = self.wsgi.call("POST", f"/api/challenges/{token}/verify/", {"code": code})
        if status != self.EXPECTED[kind]:
            self.errors[kind].append(f"{status} {body[:200]!r}")

    def proofs_prepare(self, count: int) -> None:
        """Codes for `count` proofs from the outbox (untimed: bench.load's client reads them from the database)."""
        from bench.booking import texted_codes

        while len(self.tokens) < count:
            self.request("book")
        tokens, self.tokens = self.tokens[:count], self.tokens[count:]
        codes = texted_codes(tokens)
        self.proofs = [(token, codes[token]) for token in tokens]


def timed(mix: Mix, kind: str, n: int) -> tuple[float, float]:
    """Mean CPU and wall ms per request of `n` requests of `kind`."""
    if kind == "proof":
        mix.proofs_prepare(n)
    with district_twin() if kind == "search_page_orm" else contextlib.nullcontext():
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            mix.request(kind)
    return (time.process_time() - cpu) / n * 1000, (time.perf_counter() - wall) / n * 1000


def district_twin():
    """The district lookup done by its ORM twin while the block runs."""
    from unittest import mock

    from bench import sql_vs_orm_twins
    from seats.geocoding import LocalDistrictGeocoder

    return mock.patch.object(LocalDistrictGeocoder, "locate", sql_vs_orm_twins.district_locate)


def profile(mix: Mix, kind: str, n: int, top: int) -> str:
    if kind == "proof":
        mix.proofs_prepare(n)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(n):
        mix.request(kind)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def queue_empty(redis_url: str) -> None:
    """The tasks the bookings published (nothing consumes them here)."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(redis_url).delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.load import RAISED_LIMITS, data_prepare

    os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true", "DEBUG": "false",
                       "SMS_RATE_PER_SECOND": "0", "CELERY_TASK_ALWAYS_EAGER": "false",
                       "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING"})
    os.environ.pop("SMS_BACKEND", None)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    data = data_prepare(argparse.Namespace(sessions=args.sessions, reuse=args.reuse, seed=args.seed,
                                           booking_sessions=args.booking_sessions, postcodes=args.postcodes),
                        dataset.shared_data_dir())
    from django.db import connection

    connection.close()  # the application's requests open their own, as under gunicorn
    info = reporting.machine_info()
    wsgi = Wsgi()
    mix = Mix(wsgi, data, args.seed)
    kinds = KINDS + (("search_page_orm",) if args.district_twin else ())
    try:
        for kind in kinds:
            if kind == "proof":
                mix.proofs_prepare(args.warm_up)
            for _ in range(args.warm_up):
                mix.request(kind)
        results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
        for round_ in range(args.rounds):
            for kind in kinds if round_ % 2 == 0 else reversed(kinds):
                results[kind].append(timed(mix, kind, args.requests))
            log(f"round {round_ + 1}: " + ", ".join(
                f"{kind} {results[kind][-1][0]:.2f}" for kind in kinds))
        profiled = profile(mix, args.profile, args.requests, args.top) if args.profile else ""
    finally:
        queue_empty(args.redis_url)
    print(reporting.machine_line(info))
    print()
    print(f"`python bench/request_cpu.py --sessions {args.sessions} --requests {args.requests} --rounds {args.rounds}"
          f"{' --district-twin' if args.district_twin else ''}`")
    print()
    rows = []
    for kind in kinds:
        cpu = sorted(c for c, _ in results[kind])[len(results[kind]) // 2]
        wall = sorted(w for _, w in results[kind])[len(results[kind]) // 2]
        rows.append([kind, f"{cpu:.2f}", f"{wall:.2f}", len(mix.errors[kind])])
    median = {kind: sorted(c for c, _ in results[kind])[len(results[kind]) // 2] for kind in KINDS}
    weighted = sum(median[k] * w for k, w in MIX_WEIGHTS.items()) / sum(MIX_WEIGHTS.values())
    rows.append(["**mix** (bench.load's weights)", f"**{weighted:.2f}**", "", ""])
    print(reporting.markdown_table(["kind", "CPU ms/request (median of rounds)", "wall ms/request", "errors"], rows))
    for kind, errors in mix.errors.items():
        if errors:
            log(f"{kind}: {len(errors)} unexpected answers, e.g. {errors[0]}")
    if profiled:
        print(profiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())

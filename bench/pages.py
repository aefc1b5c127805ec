#!/usr/bin/env python
"""Volunteers' pages benchmark (issue 12): server time of the home, results and session pages.

Seeds N published upcoming sessions (bench/search.py's seeding: 2 slots each, meeting points on random real
GB postcodes), serves the app with gunicorn (2 sync workers, DEBUG off) on its own database, and times, with
one keep-alive client on loopback, in one interleaved run (round-robin, so other load on the machine falls on
all of them alike):

  - /health/                       a trivial page: the floor of Django + gunicorn + the client;
  - /                              the home page;
  - /find/?postcode=<random GB>    the results page (geocode, seats that matter, 40 sessions ranked, 10 shown);
  - /s/<random session id>/        a session page;
  - /coordinate/                   the coordinators' coverage dashboard (signed in as staff; the default
                                   period, the hex map coloured by priority and the seats' table: 650 seats).

The time is from sending the request to having read the whole body (HTML only; the stylesheet is a static
file served by whitenoise and cached by browsers). Prints a markdown block (machine, date, figures); --write
puts it in BENCHMARKS.md under "## Volunteers' pages (issue 12)". Goal: p95 < 25 ms for the three volunteer pages
(the dashboard has none; it is timed in the same run for its before/after).

The database is its own (default frontroom_bench_pages): seeding TRUNCATEs its meeting points, sessions and
slots.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

GOAL_P95_MS = 25.0
SECTION = "Volunteers' pages"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_pages"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser)
    parser.set_defaults(database_url=DEFAULT_DATABASE_URL)
    parser.add_argument("--sessions", type=int, default=100_000, help="Published upcoming sessions (default: %(default)s).")
    parser.add_argument("--slots-per-session", type=int, default=2)
    parser.add_argument("--sessions-per-room", type=int, default=2)
    parser.add_argument("--requests", type=int, default=500, help="Requests per page (default: %(default)s).")
    parser.add_argument("--reuse", action="store_true",
                        help="Keep the sessions already in the database if there are exactly --sessions of them.")
    return parser.parse_args(argv)


DASHBOARD = "`/coordinate/` coordinators' dashboard"


def staff_user():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-coordinator",
                                                     defaults={"is_staff": True, "email": "bench@example.org"})
    return user


def staff_session_cookie(user) -> tuple[str, str]:
    """A signed-in session for the staff user, as the login view would store it (the configured engine)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return settings.SESSION_COOKIE_NAME, store.session_key


def page_urls(points, session_ids, rng) -> dict:
    return {
        "`/health/` (trivial page)": lambda i: "/health/",
        "`/` home": lambda i: "/",
        "`/find/?postcode=` results": lambda i: f"/find/?postcode={points[i % len(points)].postcode.replace(' ', '+')}",
        "`/s/<id>/` session": lambda i: f"/s/{rng.choice(session_ids)}/",
        DASHBOARD: lambda i: "/coordinate/",
    }


def run(args, points, session_ids, log) -> dict[str, dict]:
    import requests

    rng = random.Random(args.seed + 2)
    pages = page_urls(points, session_ids, rng)
    times: dict[str, list[float]] = {name: [] for name in pages}
    errors: dict[str, int] = dict.fromkeys(pages, 0)
    sizes: dict[str, list[int]] = {name: [] for name in pages}
    log_path = Path("/tmp") / "bench-pages-gunicorn.log"
    env = {"DEBUG": "false", "RATE_LIMITS_ENABLED": "false"}
    with stack.gunicorn_running(workers=2, worker_class="sync", env=env, log_path=log_path) as base:
        # Volunteers come without a session cookie (the pages then read no session or user); only the
        # dashboard is asked for as a signed-in coordinator.
        anonymous, staff = requests.Session(), requests.Session()
        staff.cookies.set(*staff_session_cookie(staff_user()))
        client_for = {name: staff if name == DASHBOARD else anonymous for name in pages}
        for i in range(40):  # warm every worker's caches (templates, statements)
            for name, make in pages.items():
                client_for[name].get(base + make(i), timeout=10)
        for i in range(args.requests):
            for name, make in pages.items():
                url = base + make(i)
                started = time.perf_counter()
                response = client_for[name].get(url, timeout=10)
                body = response.content
                times[name].append(time.perf_counter() - started)
                sizes[name].append(len(body))
                if response.status_code != 200:
                    errors[name] += 1
    results = {}
    for name in pages:
        summary = reporting.summary_ms(times[name])
        results[name] = {"summary": summary, "errors": errors[name],
                         "bytes": sorted(sizes[name])[len(sizes[name]) // 2]}
        log(f"{name}: p50 {summary['p50']:.2f} ms p95 {summary['p95']:.2f} ms errors {errors[name]}")
    return results


def run_in_process(args, points, session_ids, log) -> dict[str, float]:
    """CPU per request in this process (time.process_time, through Django's test client, the whole middleware
    stack and rendering): what a page costs the server, much less moved by other load than wall time."""
    from django.test import Client

    rng = random.Random(args.seed + 3)
    anonymous, staff = Client(), Client()
    staff.force_login(staff_user())
    pages = page_urls(points, session_ids, rng)
    cpu = {}
    for name, make in pages.items():
        client = staff if name == DASHBOARD else anonymous
        for i in range(20):
            client.get(make(i))
        started = time.process_time()
        for i in range(args.requests):
            client.get(make(i))
        cpu[name] = (time.process_time() - started) / args.requests * 1000
        log(f"{name}: in-process CPU {cpu[name]:.2f} ms per request")
    return cpu


def report(args, info, seeded_s, results, cpu) -> str:
    rows = []
    for name, result in results.items():
        s = result["summary"]
        goal = "" if "health" in name or name == DASHBOARD else (
            f"p95 < {GOAL_P95_MS:g} ms: " + ("met" if s["p95"] < GOAL_P95_MS else "**missed**"))
        rows.append([name, s["n"], f"{s['p50']:.2f}", f"{s['p95']:.2f}", f"{s['p99']:.2f}", f"{cpu[name]:.2f}",
                     f"{result['bytes'] / 1024:.1f}", result["errors"], goal])
    return "\n".join([
        f"Run: `python bench/pages.py --sessions {args.sessions} --requests {args.requests}`",
        "",
        reporting.machine_line(info),
        "",
        f"Data: {args.sessions:,} published upcoming sessions ({args.slots_per_session} slots each) at random real GB "
        "postcodes (bench/search.py's seeding, "
        + (f"seeded by COPY in {seeded_s:.0f} s" if seeded_s else "seeded in an earlier run, `--reuse`")
        + "). gunicorn, 2 sync workers, DEBUG off, rate limits off; one keep-alive client on loopback; the five "
        "pages requested round-robin in the same run. Results: a random GB postcode each time (geocode, seats "
        "that matter, 40 nearest sessions ranked by the suggestions' score, 10 shown). Session: a random one. "
        "Volunteers' pages are requested without a session cookie, as a volunteer comes; the dashboard signed in as staff, the default period (COVERAGE_DEFAULT_DAYS), hex map by priority, 650 seats.",
        "",
        reporting.markdown_table(["page", "n", "p50 ms", "p95 ms", "p99 ms", "CPU ms/request (in-process)",
                               "HTML KiB (uncompressed, median)", "errors", "goal"], rows),
        "",
        "Time from sending the request to the last byte of the HTML, seen by the client: the server's time plus "
        "loopback (the trivial page shows that floor). CPU ms/request: the same pages through Django's test client "
        "in the benchmark process (`time.process_time`, mean of the same number of requests), which other load on the "
        "machine barely moves: on a shared machine it is the steadier measure of what a page costs.",
    ])


def main(argv=None) -> int:
    args = parse_args(argv)
    log = reporting.progress_log("pages")
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    data_dir = dataset.shared_data_dir()
    dataset.reference_data_load(data_dir, log=log)
    from bench.search import seed
    from sessions.models import CanvassSession

    seeded_s = 0.0
    if not (args.reuse and CanvassSession.objects.filter(status="published").count() == args.sessions):
        seeded_s = seed(args, data_dir, log)
    points = dataset.postcodes_pick(data_dir, args.requests, random.Random(args.seed + 1))
    session_ids = list(CanvassSession.objects.filter(status="published").values_list("id", flat=True))
    info = reporting.machine_info()
    results = run(args, points, session_ids, log)
    cpu = run_in_process(args, points, session_ids, log)
    text = report(args, info, seeded_s, results, cpu)
    print(text)
    if args.write:
        reporting.benchmarks_section_write(SECTION, text)
        log(f"wrote section '{SECTION}' of {reporting.BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

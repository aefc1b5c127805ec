#!/usr/bin/env python
"""Nearest-sessions search benchmark (issue 2).

Seeds N published upcoming canvass sessions (2 slots each) at meeting points on random real
Great Britain postcodes, then times the nearest-sessions search for random GB postcodes:

  1. service layer: sessions.selectors.sessions_near(limit=20, radius=DEFAULT_SEARCH_RADIUS_KM),
     seat and slots loaded, against a baseline in the same run: the same filter and slot load in
     SQL without the bounding box, i.e. a full scan ordered by haversine distance (same ids, checked);
  2. HTTP: GET /api/sessions/?near=<postcode> served by gunicorn (2 workers) on the same database,
     one keep-alive client (requests.Session), for gunicorn sync and gthread workers.

Prints a markdown block (machine, date, figures, EXPLAIN ANALYZE); --write puts it in
BENCHMARKS.md under "## Search (issue 2)". Goals: p95 < 3 ms (service), < 15 ms (HTTP),
>= 20x faster than the baseline.

The bench database is its own (default frontroom_bench); seeding TRUNCATEs its meeting points,
sessions, slots and everything that references them (bookings included).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

GOAL_SERVICE_P95_MS = 3.0
GOAL_HTTP_P95_MS = 15.0
GOAL_SPEEDUP = 20.0
SECTION = "Search"
TITLES = ("Doorstep Saturday", "Weekday evening canvass", "Sunday afternoon session", "Leaflets and doors")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser)
    parser.add_argument("--sessions", type=int, default=100_000, help="Published upcoming sessions to seed (default: %(default)s).")
    parser.add_argument("--slots-per-session", type=int, default=2, help="Slots per session (default: %(default)s).")
    parser.add_argument("--sessions-per-room", type=int, default=2,
                        help="Sessions hosted by each meeting point (default: %(default)s).")
    parser.add_argument("--queries", type=int, default=1000, help="Random postcodes to search from (default: %(default)s).")
    parser.add_argument("--baseline-queries", type=int, default=None,
                        help="How many of those the slow baseline runs (default: all of them).")
    parser.add_argument("--limit", type=int, default=20, help="Sessions per search (default: %(default)s).")
    parser.add_argument("--reuse", action="store_true",
                        help="Keep the sessions already in the database if there are exactly --sessions of them.")
    parser.add_argument("--no-http", action="store_true", help="Skip the gunicorn/HTTP part.")
    parser.add_argument("--http-configs", default="sync:1,gthread:4",
                        help="gunicorn worker_class:threads list, 2 workers each (default: %(default)s).")
    return parser.parse_args(argv)


# --- Seeding -------------------------------------------------------------------------------------


def seed(args, data_dir: Path, log) -> float:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.dataset import copy_models, postcodes_pick, sequence_reset
    from sessions.models import CanvassSession, MeetingPoint, Slot

    rng = random.Random(args.seed)
    started = time.perf_counter()
    rooms_needed = -(-args.sessions // args.sessions_per_room)
    places = postcodes_pick(data_dir, rooms_needed, rng)
    User = get_user_model()
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {Slot._meta.db_table}, {CanvassSession._meta.db_table}, {MeetingPoint._meta.db_table} "
                "RESTART IDENTITY CASCADE"
            )
        hosts = []
        for i in range(100):
            host, _ = User.objects.get_or_create(username=f"bench-host-{i}", defaults={"first_name": f"Host{i}"})
            hosts.append(host)

        def rooms():
            for i, place in enumerate(places, start=1):
                yield MeetingPoint(
                    id=i, host_id=hosts[i % len(hosts)].pk, name=f"Front room {i}", address=f"{i} Bench Street",
                    postcode=place.postcode, lat=place.lat, lng=place.lng, public_lat=place.lat, public_lng=place.lng,
                    seat_id=place.seat, capacity=20,
                    host_first_name=f"Host{i % len(hosts)}",
                )

        copy_models(MeetingPoint, rooms())
        sessions, slots = [], []
        slot_id = 0
        for i in range(1, args.sessions + 1):
            room = places[(i - 1) // args.sessions_per_room]
            day = today + timedelta(days=rng.randint(1, 60))
            start = datetime(day.year, day.month, day.day, rng.choice((10, 14, 18)), 0, tzinfo=tz)
            slot_starts = [start + timedelta(hours=2 * k) for k in range(args.slots_per_session)]
            sessions.append(CanvassSession(
                id=i, meeting_point_id=(i - 1) // args.sessions_per_room + 1, seat_id=room.seat,
                title=f"{TITLES[i % len(TITLES)]} #{i}", description="Bench session.", status="published",
                lat=room.lat, lng=room.lng, postcode_district=room.postcode.split(" ")[0],
                starts_at=slot_starts[0], ends_at=slot_starts[-1] + timedelta(hours=2),
            ))
            for slot_start in slot_starts:
                slot_id += 1
                slots.append(Slot(id=slot_id, session_id=i, starts_at=slot_start, ends_at=slot_start + timedelta(hours=2),
                                  capacity=rng.choice((6, 8, 10, 12)), turf="Bench turf"))
        copy_models(CanvassSession, sessions)
        copy_models(Slot, slots)
        for model in (MeetingPoint, CanvassSession, Slot):
            sequence_reset(model)
    with connection.cursor() as cursor:
        for model in (MeetingPoint, CanvassSession, Slot):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    elapsed = time.perf_counter() - started
    log(f"seeded {len(places)} meeting points, {len(sessions)} sessions, {len(slots)} slots in {elapsed:.1f} s")
    return elapsed


# --- The queries ---------------------------------------------------------------------------------


BASELINE_SQL = """
SELECT s.id, s.title, s.description, s.what_to_bring, s.postcode_district, s.lat, s.lng, s.starts_at, s.ends_at,
       s.seat_id, t.name, t.priority, d.distance_km
FROM canvass_canvasssession s
JOIN seats_seat t ON t.ons_code = s.seat_id
CROSS JOIN LATERAL (SELECT 2 * 6371.0088 * asin(least(1.0, sqrt(
    power(sin(radians(s.lat - %(lat)s) / 2), 2)
    + cos(radians(s.lat)) * cos(radians(%(lat)s)) * power(sin(radians(s.lng - %(lng)s) / 2), 2)))) AS distance_km) d
WHERE s.status = 'published' AND s.ends_at > %(now)s AND d.distance_km <= %(radius)s
ORDER BY d.distance_km, s.starts_at, s.id
LIMIT %(limit)s
"""
BASELINE_SLOTS_SQL = (
    "SELECT id, session_id, starts_at, ends_at, capacity, confirmed_count FROM canvass_slot "
    "WHERE session_id = ANY(%s) ORDER BY starts_at, id"
)


def baseline_near(*, lat: float, lng: float, radius_km: float, limit: int) -> list[int]:
    """Full scan: the same filter, exact ordering and slot load as the app, without the bounding box.

    Self-contained (no app internals) so it stays a fixed yardstick while the selector changes.
    Returns the session ids in order.
    """
    from django.db import connection
    from django.utils import timezone

    params = {"lat": lat, "lng": lng, "now": timezone.now(), "radius": radius_km, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, params)
        rows = cursor.fetchall()
        ids = [row[0] for row in rows]
        cursor.execute(BASELINE_SLOTS_SQL, [ids])
        cursor.fetchall()
    return ids


def result_ids(found) -> list[int]:
    """Session ids from whatever sessions_near returns (rows as dicts, or NearbySession objects)."""
    return [item["id"] if isinstance(item, dict) else item.session.pk for item in found]


class QueryCounter:
    """execute_wrapper that counts statements and the time spent in the driver."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def ring_radii(radius_km: float) -> list[float]:
    from sessions.selectors import FIRST_RING_KM, RING_GROWTH

    radii = [min(FIRST_RING_KM, radius_km)]
    while radii[-1] < radius_km:
        radii.append(min(radii[-1] * RING_GROWTH, radius_km))
    return radii


def rings_searched(found, radius_km: float, limit: int) -> float:
    """The widest ring the selector had to search for this page: a full page ends inside the first
    ring that held a page; a short page means every ring ran."""
    radii = ring_radii(radius_km)
    if len(found) < limit:
        return radii[-1]
    farthest = max(row["distance_km"] for row in found)
    return next(r for r in radii if farthest <= r)


def run_service(args, points, log) -> dict:
    from django.conf import settings
    from django.db import connection

    from seats.geocoding import postcode_locate
    from sessions.selectors import sessions_near

    radius = settings.DEFAULT_SEARCH_RADIUS_KM
    located = [postcode_locate(p.postcode) for p in points]
    # Warm the caches and the connection (psycopg prepares a statement on its fifth run).
    for loc in located[:50]:
        sessions_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)
    n_baseline = min(len(located), args.baseline_queries or len(located))
    for loc in located[:3]:
        baseline_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)

    times, cpu, ids, found_counts, rings_run = [], 0.0, [], [], []
    for loc in located:
        cpu_started, started = time.process_time(), time.perf_counter()
        found = sessions_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)
        times.append(time.perf_counter() - started)
        cpu += time.process_time() - cpu_started
        ids.append(result_ids(found))
        found_counts.append(len(found))
        rings_run.append(rings_searched(found, radius, args.limit))

    # Same calls again with a statement counter: how many statements, and how much is database time.
    statements, db_seconds, totals = [], [], []
    for loc in located:
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            sessions_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)
        totals.append(time.perf_counter() - started)
        statements.append(counter.count)
        db_seconds.append(counter.seconds)

    geo_times = []
    for point in points:
        started = time.perf_counter()
        loc = postcode_locate(point.postcode)
        sessions_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)
        geo_times.append(time.perf_counter() - started)

    log(f"baseline: {n_baseline} full scans ...")
    baseline_times, mismatches = [], 0
    for i, loc in enumerate(located[:n_baseline]):
        started = time.perf_counter()
        expected = baseline_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)
        baseline_times.append(time.perf_counter() - started)
        mismatches += expected != ids[i]
    return {
        "radius": radius, "service": reporting.summary_ms(times), "baseline": reporting.summary_ms(baseline_times),
        "with_geocode": reporting.summary_ms(geo_times), "n_baseline": n_baseline, "mismatches": mismatches,
        "found_p50": reporting.percentile(found_counts, 50), "found_min": min(found_counts),
        "full_pages": sum(1 for c in found_counts if c == args.limit),
        "statements": {k: statements.count(k) for k in sorted(set(statements))},
        "rings": {k: rings_run.count(k) for k in sorted(set(rings_run))},
        "db_share": sum(db_seconds) / sum(totals), "service_ids": ids, "cpu_ms": cpu / len(located) * 1000,
    }


def api_breakdown(args, points) -> dict:
    """In-process split of one API search: geocode, search, serialise + render."""
    from django.conf import settings
    from rest_framework.renderers import JSONRenderer

    from seats.geocoding import postcode_locate
    from sessions import serializers
    from sessions.selectors import sessions_near

    def serialise(found):
        if hasattr(serializers, "session_search_row_data"):
            return [serializers.session_search_row_data(row) for row in found[: args.limit]]
        page = []
        for item in found[: args.limit]:
            item.session.distance_km = item.distance_km
            page.append(item.session)
        return serializers.SessionPublicSerializer(page, many=True).data

    radius = settings.DEFAULT_SEARCH_RADIUS_KM
    parts = {k: [] for k in ("geocode", "search", "serialise")}
    for point in points[:300]:
        t0 = time.perf_counter()
        loc = postcode_locate(point.postcode, field="near")
        t1 = time.perf_counter()
        found = sessions_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit + 1)
        t2 = time.perf_counter()
        JSONRenderer().render({"results": serialise(found)})
        t3 = time.perf_counter()
        for key, value in (("geocode", t1 - t0), ("search", t2 - t1), ("serialise", t3 - t2)):
            parts[key].append(value)
    return {key: reporting.summary_ms(values) for key, values in parts.items()}


class StatementRecorder:
    """execute_wrapper that keeps every (sql, params) the selector sends."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def _explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def explain(args, points) -> dict[str, str]:
    """EXPLAIN ANALYZE of the statement(s) the app's selector actually sent, for a dense point (the first
    ring holds a page) and a sparse one (the widest ring searched); and of the baseline."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from seats.geocoding import postcode_locate
    from sessions.selectors import sessions_near

    radius = settings.DEFAULT_SEARCH_RADIUS_KM
    recorded = []
    for point in points[:200]:
        loc = postcode_locate(point.postcode)
        recorder = StatementRecorder()
        with connection.execute_wrapper(recorder):
            found = sessions_near(lat=loc.lat, lng=loc.lng, radius_km=radius, limit=args.limit)
        statements = [st for st in recorder.statements if "canvass_canvasssession" in st[0]]
        recorded.append((rings_searched(found, radius, args.limit), loc, statements))
    dense = min(recorded, key=lambda r: r[0])
    sparse = max(recorded, key=lambda r: r[0])
    plans = {}
    for label, (ring, loc, statements) in (("dense", dense), ("sparse", sparse)):
        if statements:
            plans[f"app, {label}: {loc.postcode}, page found within {ring:g} km, the last of its "
                  f"{len(statements)} search statement(s)"] = _explain(*statements[-1])
    loc = dense[1]
    plans[f"baseline: {loc.postcode}, full scan"] = _explain(
        BASELINE_SQL, {"lat": loc.lat, "lng": loc.lng, "now": timezone.now(), "radius": radius, "limit": args.limit}
    )
    return plans


def run_http(args, points, service_ids, log) -> list[dict]:
    import requests

    results = []
    for config in args.http_configs.split(","):
        worker_class, _, threads = config.partition(":")
        threads = int(threads or 1)
        log_path = Path("/tmp") / f"bench-search-gunicorn-{worker_class}.log"
        with stack.gunicorn_running(app="config.wsgi:application", workers=2, worker_class=worker_class,
                                     threads=threads, env={"DEBUG": "false"}, log_path=log_path) as base:
            session = requests.Session()
            for point in points[:50]:
                session.get(f"{base}/api/sessions/", params={"near": point.postcode}, timeout=10)
            times, errors, mismatches = [], 0, 0
            for i, point in enumerate(points):
                started = time.perf_counter()
                response = session.get(f"{base}/api/sessions/", params={"near": point.postcode}, timeout=10)
                response.content  # noqa: B018 - read the whole body inside the timing
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1
                elif [row["id"] for row in response.json()["results"]] != service_ids[i]:
                    mismatches += 1
        summary = reporting.summary_ms(times)
        name = f"{worker_class}, 2 workers" + (f" x {threads} threads" if threads > 1 else "")
        results.append({"config": name, "summary": summary, "errors": errors, "mismatches": mismatches})
        log(f"http {config}: p50 {summary['p50']:.2f} ms p95 {summary['p95']:.2f} ms errors {errors}")
    return results


# --- Report --------------------------------------------------------------------------------------


def report(args, info, seeded_s, svc, breakdown, plans, http) -> str:
    s, b = svc["service"], svc["baseline"]

    def ok(flag: bool) -> str:
        return "met" if flag else "**missed**"

    def cells(x: dict) -> list[str]:
        return [f"{x['p50']:.2f}", f"{x['p95']:.2f}", f"{x['p99']:.2f}"]

    rows = [
        ["service: `sessions.selectors.sessions_near` (as in the app)", s["n"], *cells(s),
         f"p95 < {GOAL_SERVICE_P95_MS:g} ms: {ok(s['p95'] < GOAL_SERVICE_P95_MS)}; "
         f"{b['p95'] / s['p95']:.0f}x baseline: {ok(b['p95'] / s['p95'] >= GOAL_SPEEDUP)}"],
        ["baseline: same filter and slot load, no bounding box (full scan ordered by haversine)", b["n"],
         *cells(b), ""],
        ["service incl. `postcode_locate`", svc["with_geocode"]["n"], *cells(svc["with_geocode"]), ""],
    ]
    for h in http:
        hs = h["summary"]
        rows.append([f"HTTP `GET /api/sessions/?near=`, gunicorn {h['config']}", hs["n"], *cells(hs),
                     f"p95 < {GOAL_HTTP_P95_MS:g} ms: {ok(hs['p95'] < GOAL_HTTP_P95_MS)}"])
    statements = ", ".join(f"{n} statement{'s' if n > 1 else ''}: {c}" for n, c in svc["statements"].items())
    rings = ", ".join(f"{r:g} km: {c}" for r, c in svc["rings"].items())
    bd = breakdown
    lines = [
        f"Run: `python bench/search.py --sessions {args.sessions} --queries {args.queries}"
        + (f" --baseline-queries {args.baseline_queries}" if args.baseline_queries else "") + "`",
        "",
        reporting.machine_line(info),
        "",
        f"Data: {args.sessions:,} published upcoming sessions ({args.slots_per_session} slots each, "
        f"{args.sessions_per_room} per meeting point) at random real GB postcodes from "
        "`postcode_sample_pcon2010.csv` (a seat picked uniformly, then a postcode in it; no BT), "
        + (f"seeded by COPY in {seeded_s:.0f} s" if seeded_s else "seeded by COPY in an earlier run (`--reuse`)")
        + f". Queries: {args.queries:,} other random GB postcodes, limit {args.limit}, "
        f"radius {svc['radius']:g} km (`DEFAULT_SEARCH_RADIUS_KM`), slots and seat loaded, single client, warm "
        "cache.",
        "",
        reporting.markdown_table(["what", "n", "p50 ms", "p95 ms", "p99 ms", "goal"], rows),
        "",
        f"- Speed-up over the baseline: {b['p50'] / s['p50']:.0f}x at p50, {b['p95'] / s['p95']:.0f}x at p95 "
        f"(goal >= {GOAL_SPEEDUP:g}x).",
        f"- Same ids in the same order as the baseline: {svc['n_baseline'] - svc['mismatches']}/{svc['n_baseline']}; "
        "HTTP first page equal to the service result: "
        + (", ".join(f"{h['config']} {h['summary']['n'] - h['mismatches'] - h['errors']}/{h['summary']['n']}"
                     for h in http) or "not run") + ".",
        f"- Python CPU per call in the benchmark process (`time.process_time`, mean; barely moved by other load on "
        f"the machine, unlike wall time): {svc['cpu_ms']:.2f} ms.",
        f"- Sessions found per query: median {svc['found_p50']}, min {svc['found_min']}; "
        f"{svc['full_pages']}/{args.queries} queries filled the page of {args.limit}.",
        f"- Widest ring searched per query ({rings}). Statements per `sessions_near` call ({statements}). "
        f"Time inside the database driver: {svc['db_share'] * 100:.0f}% of the selector's time.",
        f"- In-process split of an API search (p50 / p95 ms, {bd['geocode']['n']} queries): geocode "
        f"{bd['geocode']['p50']:.2f} / {bd['geocode']['p95']:.2f}, `sessions_near` {bd['search']['p50']:.2f} / "
        f"{bd['search']['p95']:.2f}, serialise + render 20 sessions {bd['serialise']['p50']:.2f} / "
        f"{bd['serialise']['p95']:.2f}.",
        "",
        "<details><summary>EXPLAIN (ANALYZE, BUFFERS) of the statements used (app, baseline)</summary>",
        "",
    ]
    for label, plan in plans.items():
        lines += [f"{label}:", "", "```", plan, "```", ""]
    lines += ["</details>"]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    log = reporting.progress_log("search")
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    data_dir = dataset.shared_data_dir()
    dataset.reference_data_load(data_dir, log=log)
    from sessions.models import CanvassSession

    seeded_s = 0.0
    seeded = CanvassSession.objects.filter(status="published").exclude(title__startswith="[bench-booking]")
    if not (args.reuse and seeded.count() == args.sessions):
        seeded_s = seed(args, data_dir, log)
    points = dataset.postcodes_pick(data_dir, args.queries, random.Random(args.seed + 1))
    info = reporting.machine_info()
    svc = run_service(args, points, log)
    log(f"service p50 {svc['service']['p50']:.2f} ms p95 {svc['service']['p95']:.2f} ms; "
        f"baseline p50 {svc['baseline']['p50']:.2f} ms p95 {svc['baseline']['p95']:.2f} ms")
    breakdown = api_breakdown(args, points)
    plans = explain(args, points)
    http = [] if args.no_http else run_http(args, points, svc["service_ids"], log)
    text = report(args, info, seeded_s, svc, breakdown, plans, http)
    print(text)
    if args.write:
        reporting.benchmarks_section_write(SECTION, text)
        log(f"wrote section '{SECTION}' of {reporting.BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

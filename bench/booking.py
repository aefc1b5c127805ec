#!/usr/bin/env python
"""Booking throughput benchmark (issue 2).

Serves the app with gunicorn (2 workers) on PostgreSQL and drives POST /api/slots/<id>/bookings/
from 64 concurrent keep-alive clients (aiohttp, one process), each booking with a distinct valid
UK mobile (+447400xxxxxx) and a known postcode. For each gunicorn configuration, in one run:

  health   GET /health/ (no database): the server's ceiling, the baseline for the ratios
  hot      every booking on one slot with room for all of them (capacity --hot-capacity)
  fill     every booking on one slot of --fill-capacity places: the rest must be waitlisted
  spread   bookings spread at random over --slots slots (capacity --spread-capacity each)

Each booking takes the volunteer's two steps: the request (answered 202 with a challenge; the code is
texted) and then the proof, POST /api/challenges/<token>/verify/ with the texted code (read from the
SMS outbox between the two phases, as the phone would receive it). The rates of both steps are
reported, and the two-step rate (bookings per second of both phases together).

After each booking run it checks in the database that no slot has more confirmed bookings than
its capacity, that Slot.confirmed_count equals the confirmed bookings, that every request was
answered 202 and every proof 200, and that every booking is proven. Goals: spread >= 20% and
hot >= 10% of the health rate for the request step, zero overbooked. The rate limits are raised
(RATE_LIMIT_* in the server's environment) so one client address can book thousands of times; they
are still counted, so their cost is in the figures.

Celery: by default the app gets REDIS_URL (a real Redis broker) and no worker consumes, so each
booking pays for its on-commit enqueue but not for the handlers (which run elsewhere in
production); --celery eager runs them in the request instead. The broker's Redis database is
flushed at the end. Booking data from earlier runs (all bookings and volunteers in the bench
database, and earlier "[bench-booking]" sessions) is deleted at the start.

--write replaces "## Booking throughput (issue 2)" in BENCHMARKS.md with the printed block.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

SECTION = "Booking throughput"
TITLE_PREFIX = "[bench-booking]"
GOAL_SPREAD = 0.20
GOAL_HOT = 0.10
# One client address books thousands of times: the limits are raised, but still counted (so still paid for).
RAISED_LIMITS = {f"RATE_LIMIT_{scope.upper()}": "100000000/h" for scope in (
    "booking_ip", "booking_phone", "code_check_ip", "code_check_phone", "code_send_phone", "code_send_ip",
    "sms_phone_day")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser)
    parser.add_argument("--clients", type=int, default=64, help="Concurrent clients (default: %(default)s).")
    parser.add_argument("--bookings", type=int, default=1000, help="Bookings per run (default: %(default)s).")
    parser.add_argument("--health-requests", type=int, default=10000,
                        help="Requests for the /health/ baseline (default: %(default)s).")
    parser.add_argument("--slots", type=int, default=1000, help="Slots for the spread run (default: %(default)s).")
    parser.add_argument("--spread-capacity", type=int, default=10, help="Capacity of each spread slot (default: %(default)s).")
    parser.add_argument("--hot-capacity", type=int, default=10000, help="Capacity of the hot slot (default: %(default)s).")
    parser.add_argument("--fill-capacity", type=int, default=100,
                        help="Capacity of the slot that fills; the other bookings are waitlisted (default: %(default)s).")
    parser.add_argument("--configs", default="sync:1,gthread:4",
                        help="gunicorn worker_class:threads list, 2 workers each (default: %(default)s).")
    parser.add_argument("--celery", choices=("broker", "eager"), default="broker",
                        help="broker: real Redis broker, nobody consuming (default); eager: handlers run in the request.")
    return parser.parse_args(argv)


# --- Data ----------------------------------------------------------------------------------------


class Fixture:
    """Host, meeting point, and fresh slots for each run."""

    def __init__(self, rng: random.Random):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from sessions.models import CanvassSession, MeetingPoint
        from volunteers.models import Booking, Volunteer

        self.rng = rng
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Booking._meta.db_table}, {Volunteer._meta.db_table} CASCADE")
        stale = CanvassSession.objects.filter(title__startswith=TITLE_PREFIX)
        rooms = list(stale.values_list("meeting_point_id", flat=True).distinct())
        stale.delete()
        MeetingPoint.objects.filter(pk__in=rooms, sessions__isnull=True).delete()
        host, _ = get_user_model().objects.get_or_create(username="bench-booking-host")
        self.room = MeetingPoint.objects.create(
            host=host, name=f"{TITLE_PREFIX} front room", address="1 Bench Street, Sheffield", postcode="S10 2TN",
            lat=53.3811, lng=-1.4882, public_lat=53.3811, public_lng=-1.4882, seat_id="E14000922", capacity=32000,
            host_first_name="Bench",
        )
        self.day = 0

    def slots(self, *, count: int, capacity: int, label: str) -> list[int]:
        from django.utils import timezone

        from sessions.models import CanvassSession, Slot

        self.day += 1
        start = (timezone.now() + timedelta(days=self.day)).replace(minute=0, second=0, microsecond=0)
        per_session = 10
        ids = []
        for first in range(0, count, per_session):
            n = min(per_session, count - first)
            session = CanvassSession.objects.create(
                meeting_point=self.room, seat_id=self.room.seat_id, title=f"{TITLE_PREFIX} {label} {first}",
                lat=self.room.lat, lng=self.room.lng, postcode_district="S10",
                starts_at=start, ends_at=start + timedelta(hours=n),
            )
            created = Slot.objects.bulk_create(
                Slot(session=session, starts_at=start + timedelta(hours=k), ends_at=start + timedelta(hours=k + 1),
                     capacity=capacity)
                for k in range(n)
            )
            ids += [slot.pk for slot in created]
        return ids


def slot_audit(slot_ids: list[int]) -> dict:
    """Confirmed/waitlisted per slot straight from the database, against capacity and confirmed_count."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id, s.capacity, s.confirmed_count,
                   count(b.id) FILTER (WHERE b.status = 'confirmed'),
                   count(b.id) FILTER (WHERE b.status = 'waitlisted'),
                   count(b.id), count(b.id) FILTER (WHERE b.proven_at IS NOT NULL)
            FROM canvass_slot s LEFT JOIN volunteers_booking b ON b.slot_id = s.id
            WHERE s.id = ANY(%s) GROUP BY s.id
            """,
            [slot_ids],
        )
        rows = cursor.fetchall()
    return {
        "slots": len(rows),
        "confirmed": sum(r[3] for r in rows), "waitlisted": sum(r[4] for r in rows), "bookings": sum(r[5] for r in rows),
        "proven": sum(r[6] for r in rows),
        "overbooked_slots": sum(1 for r in rows if r[3] > r[1]),
        "count_mismatch_slots": sum(1 for r in rows if r[3] != r[2]),
        "full_slots": sum(1 for r in rows if r[3] == r[1]),
    }


# --- Load ----------------------------------------------------------------------------------------


async def _drive(base: str, n: int, clients: int, request_for, keep: list | None = None) -> dict:
    import aiohttp

    counter = itertools.count()
    statuses: Counter = Counter()
    latencies: list[float] = []
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

        async def client() -> None:
            while (i := next(counter)) < n:
                method, path, body = request_for(i)
                started = time.perf_counter()
                try:
                    async with session.request(method, path, json=body) as response:
                        payload = await response.read()
                        statuses[response.status] += 1
                        if keep is not None and response.status < 300:
                            keep.append(payload)
                        if response.status >= 300 and len(errors) < 5:
                            errors.append(f"{response.status} {payload[:200]!r}")
                except (TimeoutError, aiohttp.ClientError) as exc:
                    statuses["exception"] += 1
                    if len(errors) < 5:
                        errors.append(repr(exc))
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"n": n, "seconds": elapsed, "rate": n / elapsed, "statuses": dict(statuses), "errors": errors,
            "latency": reporting.summary_ms(latencies)}


def drive(base: str, n: int, clients: int, request_for, keep: list | None = None) -> dict:
    with stack.cpu_split() as cpu:
        outcome = asyncio.run(_drive(base, n, clients, request_for, keep))
    outcome["cpu_ms"] = {category: seconds * 1000 / n for category, seconds in cpu.items()}
    return outcome


class Bookers:
    """Request bodies: a distinct UK mobile per booking across the whole script, a known GB postcode."""

    def __init__(self, postcodes: list[str], rng: random.Random):
        self.postcodes = postcodes
        self.rng = rng
        self.next_phone = 0

    def batch(self, n: int, slot_for) -> list[tuple[str, str, dict]]:
        requests = []
        for i in range(n):
            phone = dataset.uk_mobile(self.next_phone)
            self.next_phone += 1
            body = {"name": f"Volunteer {phone[-6:]}", "phone": phone, "postcode": self.rng.choice(self.postcodes),
                    "consent_sms": True}
            requests.append(("POST", f"/api/slots/{slot_for(i)}/bookings/", body))
        return requests


def texted_codes(tokens: list[str]) -> dict[str, str]:
    """challenge token -> the code texted for it, read from the SMS outbox (what the phone would show)."""
    import re

    from notify.sms.models import SmsMessage

    codes = {}
    rows = SmsMessage.objects.filter(challenge__token__in=tokens).values_list("challenge__token", "body")
    for token, body in rows.iterator(chunk_size=2000):
        codes[token] = re.search(r"code (\d{6})", body).group(1)
    return codes


def book_two_steps(base: str, batch: list, clients: int) -> dict:
    """Drive the requests, then the proofs with the texted codes; the request outcome with the proof's inside."""
    import json

    answers: list[bytes] = []
    outcome = drive(base, len(batch), clients, lambda i: batch[i], keep=answers)
    tokens = [json.loads(answer)["challenge"] for answer in answers]
    codes = texted_codes(tokens)
    proofs = [("POST", f"/api/challenges/{token}/verify/", {"code": codes.get(token, "000000")}) for token in tokens]
    outcome["proof"] = drive(base, len(proofs), clients, lambda i: proofs[i])
    outcome["two_step_rate"] = len(batch) / (outcome["seconds"] + outcome["proof"]["seconds"])
    return outcome


def run_config(args, config: str, fixture: Fixture, bookers: Bookers, env: dict, log) -> dict:
    worker_class, _, threads = config.partition(":")
    threads = int(threads or 1)
    name = f"{worker_class}" + (f" x {threads} threads" if threads > 1 else "")
    result = {"config": name, "runs": {}}
    log_path = Path("/tmp") / f"bench-booking-gunicorn-{worker_class}-{threads}.log"
    with stack.gunicorn_running(workers=2, worker_class=worker_class, threads=threads, env=env,
                                 log_path=log_path) as base:
        health = ("GET", "/health/", None)
        drive(base, min(1000, args.health_requests), args.clients, lambda i: health)  # warm-up
        result["runs"]["health"] = drive(base, args.health_requests, args.clients, lambda i: health)
        log(f"{name}: health {result['runs']['health']['rate']:.0f}/s")

        warm_slot = fixture.slots(count=1, capacity=args.hot_capacity, label="warm-up")
        warm = bookers.batch(min(300, args.bookings), lambda i: warm_slot[0])
        book_two_steps(base, warm, args.clients)

        plans = {
            "hot": fixture.slots(count=1, capacity=args.hot_capacity, label="hot"),
            "fill": fixture.slots(count=1, capacity=args.fill_capacity, label="fill"),
            "spread": fixture.slots(count=args.slots, capacity=args.spread_capacity, label="spread"),
        }
        for run, slot_ids in plans.items():
            if run == "spread":
                batch = bookers.batch(args.bookings, lambda i, ids=slot_ids: bookers.rng.choice(ids))
            else:
                batch = bookers.batch(args.bookings, lambda i, ids=slot_ids: ids[0])
            outcome = book_two_steps(base, batch, args.clients)
            outcome["audit"] = slot_audit(slot_ids)
            outcome["ratio"] = outcome["rate"] / result["runs"]["health"]["rate"]
            result["runs"][run] = outcome
            audit = outcome["audit"]
            log(f"{name}: {run} {outcome['rate']:.0f}/s ({outcome['ratio'] * 100:.0f}% of health), proof "
                f"{outcome['proof']['rate']:.0f}/s, both steps {outcome['two_step_rate']:.0f}/s, "
                f"statuses {outcome['statuses']} / {outcome['proof']['statuses']}, confirmed {audit['confirmed']}, waitlisted {audit['waitlisted']}, "
                f"overbooked slots {audit['overbooked_slots']}" + (f", errors {outcome['errors']}" if outcome["errors"] else ""))
    return result


def booking_anatomy(slot_id: int, phone: str, postcode: str) -> dict:
    """One booking in-process through the API view: the SQL statements it runs, and how many run
    while the slot row is locked (from the capacity UPDATE to COMMIT), which bounds the hot slot."""
    import re

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/slots/{slot_id}/bookings/", {"name": "Anatomy", "phone": phone,
                               "postcode": postcode, "consent_sms": True}, content_type="application/json")
    statements = []
    for query in captured.captured_queries:
        sql = query["sql"].strip()
        verb = sql.split()[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.I)
        statements.append(f"{verb} {table.group(1)}" if table and verb in ("SELECT", "INSERT", "UPDATE") else verb)
    # Python CPU in this process per request (process_time, so other load on the machine barely moves it).
    cpu_started = time.process_time()
    for i in range(50):
        client.post(f"/api/slots/{slot_id}/bookings/", {"name": "Anatomy", "phone": dataset.uk_mobile(999_900 + i),
                    "postcode": postcode, "consent_sms": True}, content_type="application/json")
    booking_cpu = (time.process_time() - cpu_started) / 50
    cpu_started = time.process_time()
    for _ in range(500):
        client.get("/health/")
    health_cpu = (time.process_time() - cpu_started) / 500
    claim = next((i for i, s in enumerate(statements) if s == "UPDATE canvass_slot"), None)
    commit = next((i for i, s in enumerate(statements) if s == "COMMIT"), None)
    return {"status": response.status_code, "statements": statements, "booking_cpu_ms": booking_cpu * 1000,
            "health_cpu_ms": health_cpu * 1000,
            "locked": (commit - claim) if claim is not None and commit is not None else None}


# --- Report --------------------------------------------------------------------------------------


def checks(args, run: str, outcome: dict) -> list[str]:
    """Problems with one run's outcome; an empty list means all bookings are accounted for."""
    audit, n = outcome["audit"], outcome["n"]
    problems = []
    if outcome["statuses"] != {202: n}:
        problems.append(f"statuses {outcome['statuses']}")
    if outcome["proof"]["statuses"] != {200: n}:
        problems.append(f"proof statuses {outcome['proof']['statuses']}")
    if audit["proven"] != n:
        problems.append(f"{audit['proven']} proven of {n}")
    if audit["overbooked_slots"]:
        problems.append(f"{audit['overbooked_slots']} OVERBOOKED slots")
    if audit["count_mismatch_slots"]:
        problems.append(f"{audit['count_mismatch_slots']} slots with confirmed_count != confirmed bookings")
    if audit["bookings"] != n:
        problems.append(f"{audit['bookings']} bookings stored for {n} requests")
    if run == "hot" and audit["confirmed"] != min(n, args.hot_capacity):
        problems.append(f"{audit['confirmed']} confirmed on the hot slot")
    if run == "fill" and (audit["confirmed"] != min(n, args.fill_capacity) or audit["waitlisted"] != n - audit["confirmed"]):
        problems.append(f"fill: {audit['confirmed']} confirmed, {audit['waitlisted']} waitlisted")
    return problems


def report(args, info, results, anatomy) -> tuple[str, bool]:
    def ok(flag: bool) -> str:
        return "met" if flag else "**missed**"

    def cpu(outcome: dict) -> str:
        split = outcome["cpu_ms"]
        return " / ".join(f"{split.get(c, 0.0):.2f}" for c in ("gunicorn", "postgres", "redis", "client", "other"))

    rows = []
    all_ok = True
    # Judge configurations on absolute booking rates; a ratio to a slower server's own health rate flatters it.
    best = max(results, key=lambda r: r["runs"]["spread"]["rate"] + r["runs"]["hot"]["rate"])
    top_health = max(r["runs"]["health"]["rate"] for r in results)
    for result in results:
        runs = result["runs"]
        h = runs["health"]
        rows.append([result["config"], "health `GET /health/`", h["n"], f"{h['rate']:.0f}", "100%",
                     f"{h['latency']['p50']:.1f} / {h['latency']['p95']:.1f}", cpu(h), "", ""])
        for run, label, goal in (("hot", f"hot: 1 slot, capacity {args.hot_capacity}", GOAL_HOT),
                                 ("fill", f"fill: 1 slot, capacity {args.fill_capacity}", None),
                                 ("spread", f"spread: {args.slots} slots x {args.spread_capacity}", GOAL_SPREAD)):
            o = runs[run]
            a = o["audit"]
            problems = checks(args, run, o)
            all_ok = all_ok and not problems
            goal_text = f">= {goal * 100:.0f}%: {ok(o['ratio'] >= goal)}" if goal else ""
            verified = (f"{a['confirmed']} confirmed, {a['waitlisted']} waitlisted, overbooked slots "
                        f"{a['overbooked_slots']}" + ("" if not problems else " — " + "; ".join(problems)))
            rows.append([result["config"], label, o["n"], f"{o['rate']:.0f}", f"{o['ratio'] * 100:.0f}%",
                         f"{o['latency']['p50']:.1f} / {o['latency']['p95']:.1f}", cpu(o), goal_text, verified])
            p = o["proof"]
            rows.append([result["config"], f"{run}: proof (verify the texted code)", p["n"], f"{p['rate']:.0f}",
                         f"{p['rate'] / h['rate'] * 100:.0f}%", f"{p['latency']['p50']:.1f} / {p['latency']['p95']:.1f}",
                         cpu(p), "", f"both steps: {o['two_step_rate']:.0f} bookings/s, {a['proven']} proven"])
    celery = ("real Redis broker (`REDIS_URL` set), no worker consuming: each booking pays for its on-commit "
              "enqueue, the handlers are a worker's job" if args.celery == "broker"
              else "eager (`REDIS_URL` unset): the event handlers run inside the request")
    lines = [
        f"Run: `python bench/booking.py --bookings {args.bookings} --clients {args.clients} --configs {args.configs}"
        + (" --celery eager" if args.celery == "eager" else "") + "`",
        "",
        reporting.machine_line(info),
        "",
        f"Server: gunicorn, 2 workers, on the same machine as PostgreSQL and the client; `DEBUG=false`, persistent "
        f"database connections (`DATABASE_CONN_MAX_AGE` 60). Celery: {celery}. Client: {args.clients} concurrent "
        "keep-alive clients (aiohttp, one process on the same 2 CPUs), each booking a distinct UK mobile "
        "(+447400xxxxxx) with a random known GB postcode. Rates are requests/s over the whole run; latency is "
        "per request under that load. The database is audited after every run. gunicorn's sync workers close "
        "the connection after every response (no keep-alive), which is why their `/health/` rate is lower.",
        "",
        reporting.markdown_table(["gunicorn", "run", "requests", "req/s", "of health", "p50 / p95 ms",
                               "CPU ms per request: gunicorn / PostgreSQL / Redis / client / other", "goal",
                               "verified in the database"], rows),
        "",
        f"- Best configuration for bookings: **{best['config']}** — spread {best['runs']['spread']['rate']:.0f}/s "
        f"({best['runs']['spread']['ratio'] * 100:.0f}% of its own health rate, "
        f"{best['runs']['spread']['rate'] / top_health * 100:.1f}% of the best health rate in this run, "
        f"{top_health:.0f}/s), hot {best['runs']['hot']['rate']:.0f}/s "
        f"({best['runs']['hot']['ratio'] * 100:.0f}% / {best['runs']['hot']['rate'] / top_health * 100:.1f}%).",
        f"- Zero overbooking and every booking accounted for in every run: {'yes' if all_ok else '**NO**'}.",
        "- CPU per request is every process's user + system time during the run (Linux `/proc`), divided by the "
        "requests: where the 2 cores went. A request costs at least their sum divided by 2 in wall time.",
        f"- With every core busy, the ratio to /health/ cannot beat the ratio of their CPU costs: for "
        f"{best['config']}, /health/ {sum(best['runs']['health']['cpu_ms'].values()):.2f} ms against a spread "
        f"booking's {sum(best['runs']['spread']['cpu_ms'].values()):.2f} ms, a ceiling of "
        f"{sum(best['runs']['health']['cpu_ms'].values()) / sum(best['runs']['spread']['cpu_ms'].values()) * 100:.1f}%. "
        f"The 20% goal needs a booking under {sum(best['runs']['health']['cpu_ms'].values()) * 5:.2f} ms of CPU in all.",
        f"- Anatomy of one booking (in-process, same code path; HTTP {anatomy['status']}): "
        f"{len(anatomy['statements'])} SQL statements, {anatomy['locked']} of them from the capacity `UPDATE "
        "canvass_slot` to `COMMIT`, i.e. while the slot row is locked — every other booking of a hot slot "
        "waits for them. Sequence: " + ", ".join(f"`{s}`" for s in anatomy["statements"]) + ".",
        f"- App-process CPU per request, in-process through Django's test client (`time.process_time`; neither "
        f"gunicorn's own cost per request, which both pay, nor PostgreSQL's is included): booking "
        f"{anatomy['booking_cpu_ms']:.1f} ms, `/health/` {anatomy['health_cpu_ms']:.2f} ms. What a booking adds "
        "to a trivial request is the difference; the CPU split above is what bounds the ratio.",
    ]
    return "\n".join(lines), all_ok


def main(argv=None) -> int:
    args = parse_args(argv)
    log = reporting.progress_log("booking")
    redis_url = args.redis_url if args.celery == "broker" else None
    os.environ.update(RAISED_LIMITS)  # the in-process anatomy books too
    dataset.django_setup(database_url=args.database_url, redis_url=redis_url)
    data_dir = dataset.shared_data_dir()
    dataset.reference_data_load(data_dir, log=log)
    rng = random.Random(args.seed)
    fixture = Fixture(rng)
    postcodes = [p.postcode for p in dataset.postcodes_pick(data_dir, 2000, rng)]
    bookers = Bookers(postcodes, rng)
    runs_needed = len(args.configs.split(",")) * (3 * args.bookings + min(300, args.bookings))
    if runs_needed > 1_000_000:
        raise SystemExit("Too many bookings for distinct +447400xxxxxx numbers; lower --bookings.")
    env = {"DEBUG": "false", "DATABASE_URL": args.database_url, **RAISED_LIMITS}
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    else:
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    info = reporting.machine_info()
    results = []
    try:
        for config in args.configs.split(","):
            results.append(run_config(args, config, fixture, bookers, env, log))
    finally:
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
    anatomy_slot = fixture.slots(count=1, capacity=args.hot_capacity, label="anatomy")[0]
    anatomy = booking_anatomy(anatomy_slot, dataset.uk_mobile(999_999), postcodes[0])
    log(f"anatomy: {len(anatomy['statements'])} statements, {anatomy['locked']} under the slot lock, "
        f"CPU booking {anatomy['booking_cpu_ms']:.1f} ms vs health {anatomy['health_cpu_ms']:.2f} ms")
    text, all_ok = report(args, info, results, anatomy)
    print(text)
    if args.write:
        reporting.benchmarks_section_write(SECTION, text)
        log(f"wrote section '{SECTION}' of {reporting.BENCHMARKS_MD}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

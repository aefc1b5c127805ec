"""Webhook delivery throughput: outbox rows → Redis → real Celery worker processes → signed POSTs → a local receiver.

    .venv/bin/python bench/webhooks.py [--deliveries 3000] [--rounds 2] [--write]

Measures, in one run and with the same worker configuration (by default the one docker-compose.yml ships:
prefork, concurrency 8):
  * baseline: a no-op Celery task (it only INCRs a Redis counter so completion can be counted), enqueued and
    executed end to end;
  * deliveries: every row sent through `webhooks.delivery_send` (claim, render the OSDI payload at the first
    attempt, sign, POST with timeouts, record the answer) to a threaded http.server on a free loopback port, in a
    process of its own, that checks every signature with the endpoint's secret; deliveries/s from the first
    enqueue until the receiver has them all and every row says "delivered";
  * duplicates (an id the receiver got twice), lost (rows not delivered) and bad signatures, all must be 0.

The baseline and the delivery run alternate for --rounds rounds, each with a fresh worker; the ratio reported is
the median of the rounds' ratios.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from celery import shared_task

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
NOOP_KEY = "bench:webhooks:noop"
SECTION = "Webhooks (issue 13)"
CPU_CATEGORIES_TEXT = "Celery worker / PostgreSQL / Redis / this script, which enqueues / the rest, mostly the receiver"


@shared_task(name="bench.webhooks_noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    from django.conf import settings

    from notify.sms.ratelimit import _client

    _client(settings.REDIS_URL).incr(NOOP_KEY)


def _receiver_serve(secret: str, control) -> None:
    """Child process: a threaded http.server that verifies each delivery and answers 200."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sys.path.insert(0, str(REPO_ROOT))
    from notify.webhooks.signing import SignatureError, verify

    received: list[tuple[str, float]] = []
    bad = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                msg_id = verify(secret=secret, headers=dict(self.headers.items()), body=body)
            except SignatureError:
                msg_id = None
            with lock:
                if msg_id is None:
                    bad[0] += 1
                else:
                    received.append((msg_id, time.monotonic()))
            self.send_response(200 if msg_id else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    control.send(f"http://127.0.0.1:{server.server_address[1]}")
    while True:
        command = control.recv()
        with lock:
            if command == "count":
                control.send(len(received))
            elif command == "received":
                control.send((list(received), bad[0]))
            elif command == "clear":
                received.clear()
                bad[0] = 0
                control.send(None)
            else:
                server.shutdown()
                control.send(None)
                return


def _worker(env: dict, args) -> subprocess.Popen:
    from _common import celery_worker_start

    return celery_worker_start(env, include="bench.webhooks", name="benchhooks", pool=args.pool,
                               concurrency=args.concurrency)


def _ready(redis) -> None:
    """Wait until the fresh worker runs tasks (under load its eight processes take a while to boot), so that the
    timing starts with a working worker in both runs."""
    from _common import wait_until

    redis.delete(NOOP_KEY)
    for index in range(16):
        noop.delay(-1 - index)
    wait_until(lambda: int(redis.get(NOOP_KEY) or 0) >= 16, timeout=300, what="the worker to start")
    redis.delete(NOOP_KEY)


def _fill(endpoint, count: int) -> list[int]:
    """`count` confirmed bookings with their events and pending deliveries, written in bulk (no signals)."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from notify.webhooks.models import WebhookDelivery
    from seats.models import Seat
    from sessions.models import CanvassSession, MeetingPoint, Slot
    from volunteers.models import Booking, BookingEvent, Volunteer

    with transaction.atomic():
        WebhookDelivery.objects.all().delete()
        BookingEvent.objects.all().delete()
        Booking.objects.all().delete()
        Volunteer.objects.all().delete()
        seat, _ = Seat.objects.get_or_create(ons_code="E14000922", defaults={
            "name": "Sheffield, Hallam", "lat": 53.37, "lng": -1.55, "priority": 1, "computed_priority": 1})
        host, _ = get_user_model().objects.get_or_create(username="bench-webhooks-host")
        point, _ = MeetingPoint.objects.get_or_create(host=host, name="Bench room", defaults={
            "address": "1 Bench Street", "postcode": "S11 8UX", "lat": 53.37, "lng": -1.5, "public_lat": 53.37,
            "public_lng": -1.5, "seat": seat, "capacity": 60})
        starts = timezone.now() + timedelta(days=3)
        session = CanvassSession.objects.create(meeting_point=point, seat=seat, title="[bench-webhooks] doors",
                                                lat=53.37, lng=-1.5, postcode_district="S11", starts_at=starts,
                                                ends_at=starts + timedelta(hours=2))
        slot = Slot.objects.create(session=session, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                   capacity=count)
        volunteers = Volunteer.objects.bulk_create([
            Volunteer(phone=f"+447400{n:06d}", name=f"Bench Volunteer{n}", email=f"v{n}@example.org",
                      postcode="S10 1AA", lat=53.38, lng=-1.5, consent_sms=True) for n in range(count)],
            batch_size=2000)
        bookings = Booking.objects.bulk_create([Booking(volunteer=v, slot=slot, status="confirmed") for v in volunteers],
                                               batch_size=2000)
        now = timezone.now()
        events = BookingEvent.objects.bulk_create([
            BookingEvent(booking=b, kind="booking_confirmed", version=1, processed_at=now) for b in bookings],
            batch_size=2000)
        deliveries = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(event=e, endpoint=endpoint, event_type="booking.confirmed") for e in events],
            batch_size=2000)
    return [d.pk for d in deliveries]


def _booking_cost(endpoints: int, count: int, tag: str) -> dict:
    """Bookings through volunteers.services.booking_place in this process (each in its transaction, its on-commit
    enqueues going to Redis, which nobody consumes here) with `endpoints` enabled endpoints registered."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from notify.webhooks.models import WebhookDelivery, WebhookEndpoint
    from sessions.models import Slot
    from volunteers.models import Volunteer
    from volunteers.services import booking_place

    WebhookEndpoint.objects.filter(description="bench booking cost").delete()
    for n in range(endpoints):
        WebhookEndpoint.objects.create(url=f"https://crm{n}.example.org/hooks", secret="whsec_" + "A" * 32,
                                       description="bench booking cost")
    template = Slot.objects.select_related("session").filter(session__title="[bench-webhooks] doors").first()
    slot = Slot.objects.create(session=template.session, starts_at=template.starts_at, ends_at=template.ends_at,
                               capacity=count + 1)
    volunteers = Volunteer.objects.bulk_create([
        Volunteer(phone=f"+447401{tag}{n:05d}", name="Bench Booker", postcode="S10 1AA", lat=53.38, lng=-1.5,
                  consent_sms=True) for n in range(count)])
    wall = cpu = 0.0
    statements = 0
    for index, volunteer in enumerate(volunteers):
        started, started_cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) if index == 0 else _nothing() as captured:
            with transaction.atomic():
                locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
                booking_place(volunteer=locked, slot=slot, proven=True)
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        if index == 0:
            statements = len(captured.captured_queries)
    rows = WebhookDelivery.objects.filter(event__booking__slot=slot).count()
    WebhookEndpoint.objects.filter(description="bench booking cost").delete()
    return {"endpoints": endpoints, "wall_ms": wall * 1000 / count, "cpu_ms": cpu * 1000 / count,
            "statements": statements, "delivery_rows": rows}


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _deliveries_run(ids: list[int], receiver, env: dict, args, redis) -> dict:
    from _common import wait_until, worker_run_timed

    from notify.webhooks.models import WebhookDelivery
    from notify.webhooks.services import delivery_enqueue

    with worker_run_timed(lambda: _worker(env, args), warmup=args.warmup, ready=lambda: _ready(redis)) as run:
        for delivery_id in ids:
            delivery_enqueue(delivery_id)
        wait_until(lambda: receiver.ask("count") >= len(ids), timeout=3600, what="the receiver to get every delivery")
        wait_until(lambda: not WebhookDelivery.objects.exclude(status="delivered").exists(), timeout=600,
                   what="every row to say delivered")
    elapsed = run.elapsed
    received, bad = receiver.ask("received")
    per_id = Counter(msg_id for msg_id, _ in received)
    return {
        "deliveries": len(ids), "elapsed": elapsed, "rate": len(ids) / elapsed,
        "duplicates": sum(n - 1 for n in per_id.values() if n > 1), "bad_signatures": bad,
        "lost": WebhookDelivery.objects.exclude(status="delivered").count() + max(0, len(ids) - len(per_id)),
        "cpu_ms": run.cpu_ms_per(len(ids)),
    }


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    from _common import (
        ChildServer,
        add_celery_worker_args,
        add_common_args,
        benchmarks_section_write,
        celery_worker_env,
        cpu_text,
        django_setup,
        machine_info,
        machine_line,
        markdown_table,
        noop_row,
        noop_run,
        rounds_median,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, database_url="postgres://postgres@127.0.0.1:5432/frontroom_bench_webhooks",
                    redis_url="redis://127.0.0.1:6379/5")
    parser.add_argument("--deliveries", type=int, default=3000)
    add_celery_worker_args(parser, rounds=2, runs="delivery",
                           warmup_help="Seconds to let a fresh worker settle after it first runs tasks, before timing.")
    parser.add_argument("--bookings", type=int, default=400,
                        help="Bookings per booking-cost run (0 skips that part).")
    args = parser.parse_args()

    os.environ.update({"LOG_LEVEL": "WARNING", "WEBHOOK_ALLOW_HTTP": "true",
                       "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32", "SMS_BACKEND": "console"})
    django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.conf import settings

    sys.path.insert(0, str(REPO_ROOT))
    from notify.sms.ratelimit import _client
    from notify.webhooks.models import WebhookEndpoint
    from notify.webhooks.signing import secret_generate

    redis = _client(settings.REDIS_URL)
    redis.flushdb()
    secret = secret_generate()
    receiver = ChildServer(_receiver_serve, secret)
    WebhookEndpoint.objects.all().delete()
    endpoint = WebhookEndpoint.objects.create(url=receiver.greeting + "/crm", secret=secret,
                                              description="bench receiver")
    env = celery_worker_env(args)

    rounds = []
    for number in range(1, args.rounds + 1):
        redis.delete(NOOP_KEY)
        base = noop_run(noop, redis=redis, key=NOOP_KEY, count=args.deliveries, worker_start=lambda: _worker(env, args),
                        warmup=args.warmup, ready=lambda: _ready(redis))
        print(f"round {number}: no-op tasks {base['rate']:.0f}/s", flush=True)
        receiver.ask("clear")
        ids = _fill(endpoint, args.deliveries)
        run = _deliveries_run(ids, receiver, env, args, redis)
        print(f"round {number}: deliveries {run}", flush=True)
        rounds.append({"noop": base, "hooks": run, "ratio": run["rate"] / base["rate"]})
    receiver.stop()
    costs = []
    if args.bookings:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)  # the receiver's: not counted here
        for number in range(args.rounds):
            for endpoints in (0, 1):
                costs.append(_booking_cost(endpoints, args.bookings, f"{number}{endpoints}"))
                print(f"booking cost: {costs[-1]}", flush=True)
    redis.flushdb()

    ratios, median, middle = rounds_median(rounds)
    rows = []
    for number, r in enumerate(rounds, 1):
        run = r["hooks"]
        rows.append(noop_row(number, r["noop"], columns=4))
        rows.append([f"{number}: outbox → worker → signed POST → loopback receiver", f"{run['deliveries']:,}",
                     f"{run['elapsed']:.1f}", f"{run['rate']:.0f}", f"{r['ratio'] * 100:.0f}%", run["duplicates"],
                     run["lost"], run["bad_signatures"]])
    body = "\n".join([
        f"`.venv/bin/python bench/webhooks.py --deliveries {args.deliveries} --rounds {args.rounds} --pool {args.pool} "
        f"--concurrency {args.concurrency}`: one Celery worker ({args.pool} pool, concurrency {args.concurrency}) on "
        "Redis and PostgreSQL; each delivery claims its row, renders the OSDI attendance payload (first attempt), "
        "signs it (Standard Webhooks HMAC-SHA256) and POSTs it with connect/read timeouts through the address-checking "
        "session to a threaded http.server in a process of its own, which verifies every signature. The baseline "
        f"and the delivery run alternate, {args.rounds} rounds, each run with a fresh worker.",
        "",
        machine_line(machine_info()),
        "",
        markdown_table(["Run", "Deliveries", "Seconds", "Per second", "Of the no-op rate", "Duplicates", "Lost",
                        "Bad signatures"], rows),
        "",
        f"- Deliveries per second as a share of the no-op task rate in the same round: "
        f"{', '.join(f'{r * 100:.0f}%' for r in ratios)}; median **{median * 100:.0f}%**.",
        f"- CPU per delivery in the median round, every process on the machine (Linux `/proc`; {CPU_CATEGORIES_TEXT}): "
        f"no-op task {cpu_text(middle['noop']['cpu_ms'])}; delivery {cpu_text(middle['hooks']['cpu_ms'])}.",
    ])
    if costs:
        def median_of(endpoints: int, key: str) -> float:
            return statistics.median(c[key] for c in costs if c["endpoints"] == endpoints)

        body += "\n\n" + "\n".join([
            f"What a booking pays (`--bookings {args.bookings}`): bookings through `volunteers.services.booking_place` "
            "in this process, each in its own transaction, their on-commit enqueues going to Redis (nobody consumes "
            "them here), with no endpoint and with one enabled endpoint registered, alternating, "
            f"{args.rounds} rounds (medians):",
            "",
            markdown_table(["Endpoints", "Wall per booking (ms)", "Python CPU per booking (ms)", "Statements",
                            "Delivery rows written"],
                           [[n, f"{median_of(n, 'wall_ms'):.2f}", f"{median_of(n, 'cpu_ms'):.2f}",
                             int(median_of(n, 'statements')), int(sum(c['delivery_rows'] for c in costs
                                                                      if c['endpoints'] == n))] for n in (0, 1)]),
            "",
            "- The booking's transaction writes the delivery rows with one `INSERT ... SELECT` over the enabled "
            "endpoints (present with no endpoint too, writing nothing); the POST happens in a worker after commit.",
        ])
    print(body)
    if args.write:
        benchmarks_section_write(SECTION, body)


if __name__ == "__main__":
    main()

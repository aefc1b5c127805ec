"""SMS outbox throughput: outbox rows → Redis → real Celery worker processes → the SDK → a loopback Twilio.

    .venv/bin/python bench/sms.py [--messages 10000] [--rounds 3] [--rate 25] [--write]

Measures, in one run and with the same worker configuration (by default the one docker-compose.yml
ships: prefork, concurrency 8):
  * baseline: a no-op Celery task (it only INCRs a Redis counter so completion can be counted),
    enqueued and executed end to end;
  * the outbox with the rate limit off: every message sent through `sms.message_send`, messages/s
    from the first enqueue until Twilio (the loopback fake) has them all and every row says so;
  * the outbox with the rate limit on: the rate measured at the fake (first to last arrival);
  * duplicates (a message the fake received twice) and lost messages (rows not accepted), both must be 0.

The baseline and the outbox run alternate for --rounds rounds, each with a fresh worker, and the ratio
reported is the median of the rounds' ratios: on a shared 2-core machine one pair of runs can be
several points off either way.
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
NOOP_KEY = "bench:sms:noop"


@shared_task(name="bench.sms_noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    from django.conf import settings

    from dispatch.sms.ratelimit import _client

    _client(settings.REDIS_URL).incr(NOOP_KEY)


CPU_CATEGORIES_TEXT = ("Celery worker / PostgreSQL / Redis / this script, which enqueues / the rest, mostly the "
                       "loopback Twilio")


def _worker(env: dict, args) -> subprocess.Popen:
    from _common import celery_worker_start

    return celery_worker_start(env, include="bench.sms", name="benchsms", pool=args.pool,
                               concurrency=args.concurrency)


def _fake_serve(spec: str, control) -> None:
    """Child process: run the loopback Twilio and answer the benchmark's questions about what it received."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.sms.fake_twilio import FakeTwilio

    fake = FakeTwilio(spec=Path(spec)).start()
    control.send(fake.url)
    while True:
        command = control.recv()
        if command == "count":
            control.send(len(fake.messages))
        elif command == "messages":
            control.send(list(fake.messages))
        elif command == "violations":
            control.send(list(fake.contract_violations))
        elif command == "clear":
            fake.messages.clear()
            control.send(None)
        else:
            fake.stop()
            control.send(None)
            return


class FakeTwilioProcess:
    """The loopback Twilio (tests/sms/fake_twilio.py) in a process of its own, as Twilio is elsewhere in
    production: its request handling then does not wait for this process's GIL while it enqueues."""

    def __init__(self, spec: Path):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(target=_fake_serve, args=(str(spec), child), daemon=True)
        self.process.start()
        self.url = self._control.recv()

    def _ask(self, command: str):
        self._control.send(command)
        return self._control.recv()

    def count(self) -> int:
        return self._ask("count")

    def messages(self) -> list[dict]:
        return self._ask("messages")

    def contract_violations(self) -> list[str]:
        return self._ask("violations")

    def clear(self) -> None:
        self._ask("clear")

    def stop(self) -> None:
        self._ask("stop")
        self.process.join(timeout=10)


def _outbox_fill(count: int) -> list[int]:
    """`count` confirmed bookings with their pending outbox rows, written in bulk (set-up, not measured)."""
    from datetime import timedelta

    from _common import uk_mobile
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from dispatch.sms.models import SmsMessage
    from dispatch.sms.segments import segments_count
    from dispatch.sms.texts import booking_text
    from seats.models import Seat
    from sessions.models import CanvassSession, MeetingPoint, Slot
    from volunteers.models import Booking, Volunteer

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sms_smsmessage, volunteers_bookingevent, volunteers_booking, volunteers_volunteer, "
                       "canvass_slot, canvass_canvasssession, canvass_meetingpoint RESTART IDENTITY CASCADE")
    seat, _ = Seat.objects.get_or_create(ons_code="E14000922", defaults={"name": "Sheffield, Hallam", "lat": 53.37,
                                                                         "lng": -1.55})
    host, _ = get_user_model().objects.get_or_create(username="bench-sms-host", defaults={"first_name": "Aisha"})
    point = MeetingPoint.objects.create(host=host, name="Aisha's front room", address="27 Psalter Lane, Sheffield",
                                        postcode="S11 8UX", lat=53.37, lng=-1.5, public_lat=53.37, public_lng=-1.5,
                                        seat=seat, capacity=60,
                                        host_first_name="Aisha")
    start = timezone.now() + timedelta(days=3)
    session = CanvassSession.objects.create(meeting_point=point, seat=seat, title="Saturday doorstep session",
                                            lat=53.37, lng=-1.5, postcode_district="S11", starts_at=start,
                                            ends_at=start + timedelta(hours=2))
    slot = Slot.objects.create(session=session, starts_at=start, ends_at=start + timedelta(hours=2), capacity=30000)
    volunteers = Volunteer.objects.bulk_create(
        Volunteer(phone=uk_mobile(i), name=f"Volunteer {i}", postcode="S10 1AA", lat=53.38, lng=-1.5, consent_sms=True)
        for i in range(count))
    bookings = Booking.objects.bulk_create(Booking(volunteer=v, slot=slot, status="confirmed") for v in volunteers)
    messages = []
    for booking in bookings:
        body = booking_text(kind="booking_confirmed", booking=booking)
        seg = segments_count(body)
        messages.append(SmsMessage(volunteer=booking.volunteer, booking=booking, kind="booking_confirmed", version=1,
                                   to=booking.volunteer.phone, body=body, encoding=seg.encoding,
                                   segments=seg.segments))
    return [m.pk for m in SmsMessage.objects.bulk_create(messages, batch_size=2000)]


def _outbox_run(ids: list[int], fake, env: dict, args) -> dict:
    from datetime import timedelta

    from _common import cpu_split, process_group_stop, wait_until

    from dispatch.sms.models import SmsMessage
    from dispatch.sms.services import message_enqueue, messages_requeue_stuck

    swept = 0

    def done() -> bool:
        # Beat runs the outbox sweep every minute in production; here every 10 s of no progress.
        nonlocal swept, last_count, last_change
        count = fake.count()
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > 10:
            swept += messages_requeue_stuck(grace=timedelta(seconds=10))
            last_change = time.monotonic()
        return count >= len(ids)

    last_count, last_change = -1, time.monotonic()
    worker = _worker(env, args)
    try:
        time.sleep(args.warmup)
        with cpu_split() as cpu:
            started = time.monotonic()
            for message_id in ids:
                message_enqueue(message_id)
            wait_until(done, timeout=3600, what="the fake to receive every message")
            wait_until(lambda: not SmsMessage.objects.exclude(status="queued").exists(), timeout=600,
                       what="every row to be accepted")
            elapsed = time.monotonic() - started
    finally:
        process_group_stop(worker)
    received = fake.messages()
    arrivals = sorted(m["received_at"] for m in received)
    per_message = Counter((m["to"], m["body"]) for m in received)
    return {
        "messages": len(ids), "elapsed": elapsed, "rate": len(ids) / elapsed,
        "measured_rate": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0,
        "duplicates": sum(n - 1 for n in per_message.values() if n > 1),
        "swept": swept,
        "contract_violations": len(fake.contract_violations()),
        "lost": SmsMessage.objects.exclude(status="queued").count() + max(0, len(ids) - len(per_message)),
        "cpu_ms": {category: seconds * 1000 / len(ids) for category, seconds in cpu.items()},
    }


def _noop_run(env: dict, args, redis) -> dict:
    """The baseline: as many no-op tasks as messages, through the same broker and worker configuration."""
    from _common import cpu_split, process_group_stop, wait_until

    worker = _worker(env, args)
    try:
        time.sleep(args.warmup)
        with cpu_split() as cpu:
            started = time.monotonic()
            for index in range(args.messages):
                noop.delay(index)
            wait_until(lambda: int(redis.get(NOOP_KEY) or 0) >= args.messages, timeout=3600, what="the no-op tasks")
            elapsed = time.monotonic() - started
    finally:
        process_group_stop(worker)
    return {"messages": args.messages, "elapsed": elapsed, "rate": args.messages / elapsed,
            "cpu_ms": {category: seconds * 1000 / args.messages for category, seconds in cpu.items()}}


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    from _common import (
        add_common_args,
        benchmarks_section_write,
        cpu_text,
        django_setup,
        machine_info,
        machine_line,
        markdown_table,
        shared_data_dir,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.set_defaults(database_url=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/"
                                                    "frontroom_bench_sms"),
                        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="Messages per second for the rate-limited run.")
    parser.add_argument("--rate-messages", type=int, default=500, help="Messages in the rate-limited run.")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Baseline and outbox runs, alternating; the ratio reported is the rounds' median.")
    parser.add_argument("--pool", default="prefork", choices=["threads", "prefork"],
                        help="Worker pool (default: prefork, as docker-compose.yml runs the worker).")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=4.0, help="Seconds for the worker to start before timing.")
    args = parser.parse_args()

    os.environ.update({"SMS_RATE_PER_SECOND": "0", "LOG_LEVEL": "WARNING"})
    django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.conf import settings

    sys.path.insert(0, str(REPO_ROOT))
    from celery_app import app
    from dispatch.sms.ratelimit import _client

    redis = _client(settings.REDIS_URL)
    redis.flushdb()
    fake = FakeTwilioProcess(shared_data_dir() / "twilio" / "twilio_api_v2010.json")
    twilio_env = {"TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token",
                  "TWILIO_FROM": "+447700900000", "TWILIO_API_URL": fake.url}
    os.environ.update(twilio_env)
    for name, value in twilio_env.items():
        setattr(settings, name, value)
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "DATABASE_CONN_MAX_AGE": "600",
           "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("SMS_BACKEND", None)
    app.conf.task_always_eager = False

    rounds = []
    for number in range(1, args.rounds + 1):
        redis.delete(NOOP_KEY)
        noop_run = _noop_run(env, args, redis)
        print(f"round {number}: no-op tasks {noop_run['rate']:.0f}/s", flush=True)
        fake.clear()
        off_run = _outbox_run(_outbox_fill(args.messages), fake, {**env, "SMS_RATE_PER_SECOND": "0"}, args)
        print(f"round {number}: outbox, rate limit off: {off_run}", flush=True)
        rounds.append({"noop": noop_run, "off": off_run, "ratio": off_run["rate"] / noop_run["rate"]})

    fake.clear()
    redis.flushdb()
    ids = _outbox_fill(args.rate_messages)
    on = _outbox_run(ids, fake, {**env, "SMS_RATE_PER_SECOND": str(args.rate)}, args)
    print(f"outbox, rate limit {args.rate:g}/s: {on}", flush=True)
    fake.stop()

    deviation = abs(on["measured_rate"] - args.rate) / args.rate * 100
    ratios = sorted(r["ratio"] for r in rounds)
    median = statistics.median(ratios)
    middle = sorted(rounds, key=lambda r: r["ratio"])[(len(rounds) - 1) // 2]
    duplicates = sum(r["off"]["duplicates"] for r in rounds) + on["duplicates"]
    lost = sum(r["off"]["lost"] for r in rounds) + on["lost"]
    rows = []
    for number, r in enumerate(rounds, 1):
        noop_run, off = r["noop"], r["off"]
        rows.append([f"{number}: no-op Celery task (baseline)", f"{noop_run['messages']:,}", f"{noop_run['elapsed']:.1f}",
                     f"{noop_run['rate']:.0f}", "-", "-", "-"])
        rows.append([f"{number}: outbox → worker → SDK → loopback Twilio, rate limit off", f"{off['messages']:,}",
                     f"{off['elapsed']:.1f}", f"{off['rate']:.0f}", f"{r['ratio'] * 100:.0f}%", off["duplicates"],
                     off["lost"]])
    rows.append([f"Outbox, rate limit {args.rate:g}/s (measured at the mock)", f"{on['messages']:,}",
                 f"{on['elapsed']:.1f}", f"{on['measured_rate']:.1f}", "-", on["duplicates"], on["lost"]])
    body = "\n".join([
        f"`.venv/bin/python bench/sms.py --messages {args.messages} --rounds {args.rounds} --rate {args.rate:g} "
        f"--rate-messages {args.rate_messages} --pool {args.pool} --concurrency {args.concurrency}`: one Celery worker "
        f"({args.pool} pool, concurrency {args.concurrency}) on Redis, PostgreSQL, the official `twilio` SDK "
        "pointed at a loopback HTTP server, in a process of its own, that answers like Twilio's Messages API and "
        "checks every request against Twilio's OpenAPI spec. The baseline and the outbox run alternate, "
        f"{args.rounds} rounds, each run with a fresh worker.",
        "",
        machine_line(machine_info()),
        "",
        markdown_table(["Run", "Messages", "Seconds", "Per second", "Of the no-op rate", "Duplicates", "Lost"], rows),
        "",
        f"- End-to-end outbox rate with the limit off, as a share of the no-op task rate in the same round: "
        f"{', '.join(f'{r * 100:.0f}%' for r in ratios)}; median **{median * 100:.0f}%** (goal: at least 50%).",
        f"- Rate limit {args.rate:g}/s shared through Redis: measured {on['measured_rate']:.1f}/s at the mock, "
        f"{deviation:.1f}% off (goal: within 5%).",
        f"- Duplicates {duplicates} and lost {lost} over {sum(r['off']['messages'] for r in rounds) + on['messages']:,} "
        f"messages (goal: 0 and 0); messages the sweep had to re-enqueue: "
        f"{sum(r['off']['swept'] for r in rounds) + on['swept']}; requests that broke Twilio's spec (checked by the "
        f"mock): {sum(r['off']['contract_violations'] for r in rounds) + on['contract_violations']}.",
        f"- CPU per message in the median round, every process on the machine (Linux `/proc`; {CPU_CATEGORIES_TEXT}): "
        f"no-op task {cpu_text(middle['noop']['cpu_ms'])}; outbox send, limit off, {cpu_text(middle['off']['cpu_ms'])}. "
        f"With both cores busy the ratio cannot pass their quotient, "
        f"{sum(middle['noop']['cpu_ms'].values()) / sum(middle['off']['cpu_ms'].values()) * 100:.0f}%.",
    ])
    print(body)
    if args.write:
        benchmarks_section_write("SMS (issue 4)", body)


if __name__ == "__main__":
    main()

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
import subprocess
import sys
from collections import Counter
from pathlib import Path

from celery import shared_task

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
NOOP_KEY = "bench:sms:noop"


@shared_task(name="bench.sms_noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    from django.conf import settings

    from notify.sms.ratelimit import _client

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


def _outbox_fill(count: int) -> list[int]:
    """`count` confirmed bookings with their pending outbox rows, written in bulk (set-up, not measured)."""
    from _common import bench_slot, uk_mobile
    from django.db import connection

    from notify.sms.models import SmsMessage
    from notify.sms.segments import segments_count
    from notify.sms.texts import booking_text
    from volunteers.models import Booking, Volunteer

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sms_smsmessage, volunteers_bookingevent, volunteers_booking, volunteers_volunteer, "
                       "canvass_slot, canvass_canvasssession, canvass_meetingpoint RESTART IDENTITY CASCADE")
    slot = bench_slot(host_username="bench-sms-host")
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

    from _common import SweptWhenStalled, wait_until, worker_run_timed

    from notify.sms.models import SmsMessage
    from notify.sms.services import message_enqueue, messages_requeue_stuck

    done = SweptWhenStalled(lambda: fake.ask("count"), len(ids),
                            lambda: messages_requeue_stuck(grace=timedelta(seconds=10)))
    with worker_run_timed(lambda: _worker(env, args), warmup=args.warmup) as run:
        for message_id in ids:
            message_enqueue(message_id)
        wait_until(done, timeout=3600, what="the fake to receive every message")
        wait_until(lambda: not SmsMessage.objects.exclude(status="queued").exists(), timeout=600,
                   what="every row to be accepted")
    elapsed = run.elapsed
    received = fake.ask("messages")
    arrivals = sorted(m["received_at"] for m in received)
    per_message = Counter((m["to"], m["body"]) for m in received)
    return {
        "messages": len(ids), "elapsed": elapsed, "rate": len(ids) / elapsed,
        "measured_rate": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0,
        "duplicates": sum(n - 1 for n in per_message.values() if n > 1),
        "swept": done.swept,
        "contract_violations": len(fake.ask("violations")),
        "lost": SmsMessage.objects.exclude(status="queued").count() + max(0, len(ids) - len(per_message)),
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
        shared_data_dir,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, database_url="postgres://postgres@127.0.0.1:5432/frontroom_bench_sms",
                    redis_url="redis://127.0.0.1:6379/13")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="Messages per second for the rate-limited run.")
    parser.add_argument("--rate-messages", type=int, default=500, help="Messages in the rate-limited run.")
    add_celery_worker_args(parser, rounds=3, runs="outbox", warmup_help="Seconds for the worker to start before timing.")
    args = parser.parse_args()

    os.environ.update({"SMS_RATE_PER_SECOND": "0", "LOG_LEVEL": "WARNING"})
    django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.conf import settings

    sys.path.insert(0, str(REPO_ROOT))
    from notify.sms.ratelimit import _client

    redis = _client(settings.REDIS_URL)
    redis.flushdb()
    # The loopback Twilio (tests/sms/fake_twilio.py), checking every request against Twilio's OpenAPI spec.
    fake = ChildServer(_fake_serve, str(shared_data_dir() / "twilio" / "twilio_api_v2010.json"))
    twilio_env = {"TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token",
                  "TWILIO_FROM": "+447700900000", "TWILIO_API_URL": fake.greeting}
    os.environ.update(twilio_env)
    for name, value in twilio_env.items():
        setattr(settings, name, value)
    env = celery_worker_env(args)
    env.pop("SMS_BACKEND", None)

    rounds = []
    for number in range(1, args.rounds + 1):
        redis.delete(NOOP_KEY)
        baseline = noop_run(noop, redis=redis, key=NOOP_KEY, count=args.messages,
                            worker_start=lambda: _worker(env, args), warmup=args.warmup)
        print(f"round {number}: no-op tasks {baseline['rate']:.0f}/s", flush=True)
        fake.ask("clear")
        off_run = _outbox_run(_outbox_fill(args.messages), fake, {**env, "SMS_RATE_PER_SECOND": "0"}, args)
        print(f"round {number}: outbox, rate limit off: {off_run}", flush=True)
        rounds.append({"noop": baseline, "off": off_run, "ratio": off_run["rate"] / baseline["rate"]})

    fake.ask("clear")
    redis.flushdb()
    ids = _outbox_fill(args.rate_messages)
    on = _outbox_run(ids, fake, {**env, "SMS_RATE_PER_SECOND": str(args.rate)}, args)
    print(f"outbox, rate limit {args.rate:g}/s: {on}", flush=True)
    fake.stop()

    deviation = abs(on["measured_rate"] - args.rate) / args.rate * 100
    ratios, median, middle = rounds_median(rounds)
    duplicates = sum(r["off"]["duplicates"] for r in rounds) + on["duplicates"]
    lost = sum(r["off"]["lost"] for r in rounds) + on["lost"]
    rows = []
    for number, r in enumerate(rounds, 1):
        off = r["off"]
        rows.append(noop_row(number, r["noop"], columns=3))
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

"""A message to everyone booked (issue 25): 10,000 volunteers, one coordinator's message, real Celery workers.

    .venv/bin/python bench/broadcast.py [--volunteers 10000] [--rounds 2] [--rate 25] [--rate-volunteers 500]
                                        [--write]

Measures, in one run and with the same worker configuration (prefork, concurrency 8, as docker-compose.yml runs it):
  * baseline: a no-op Celery task (it INCRs a Redis counter so completion can be counted), end to end;
  * the message: notify.messaging.message_send writing 10,000 outbox rows (the write, timed on its own), then the
    worker sending them through the SDK to a loopback Twilio, with the rate limit off: from the send until Twilio
    has every text and every row says so;
  * the same with the rate limit on (SMS_RATE_PER_SECOND), the rate measured at the loopback Twilio;
  * duplicates (a text Twilio received twice) and lost texts (rows not accepted): both must be 0 ("exactly once").

The baseline and the message alternate for --rounds rounds, each with a fresh worker; the ratio reported is the
median of the rounds' ratios. Its table is BENCHMARKS.md, "Messages to everyone booked".
"""

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from celery import shared_task

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
NOOP_KEY = "bench:broadcast:noop"


@shared_task(name="bench.broadcast_noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    from django.conf import settings

    from notify.sms.ratelimit import _client

    _client(settings.REDIS_URL).incr(NOOP_KEY)


def _worker(env: dict, args):
    from _common import celery_worker_start

    return celery_worker_start(env, include="bench.broadcast", name="benchbroadcast", pool=args.pool,
                               concurrency=args.concurrency)


def _fake_serve(spec: str, control) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from sms import _fake_serve as serve  # bench/sms.py's loopback Twilio

    serve(spec, control)


def _everyone_booked(count: int):
    """`count` proven volunteers booked on one slot (set-up, not measured); the Audience of its session."""
    from _common import bench_slot, uk_mobile
    from django.db import connection
    from django.utils import timezone

    from notify.messaging.audience import Audience
    from volunteers.models import Booking, Volunteer

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE notify_broadcast, sms_smsmessage, email_emailmessage, volunteers_bookingevent, "
                       "volunteers_booking, volunteers_volunteer, canvass_slot, canvass_canvasssession, "
                       "canvass_meetingpoint RESTART IDENTITY CASCADE")
    slot = bench_slot(host_username="bench-broadcast-host")
    now = timezone.now()
    volunteers = Volunteer.objects.bulk_create(
        (Volunteer(phone=uk_mobile(i), name=f"Volunteer {i}", postcode="S10 1AA", lat=53.38, lng=-1.5,
                   consent_sms=True, phone_verified_at=now) for i in range(count)), batch_size=5000)
    Booking.objects.bulk_create((Booking(volunteer=v, slot=slot, status="confirmed", proven_at=now)
                                 for v in volunteers), batch_size=5000)
    return Audience(session=slot.session)


def _message_run(count: int, fake, env: dict, args) -> dict:
    import time
    from datetime import timedelta

    from _common import SweptWhenStalled, wait_until, worker_run_timed
    from django.contrib.auth import get_user_model

    from notify.messaging import message_send
    from notify.sms.models import SmsMessage
    from notify.sms.services import messages_requeue_stuck

    audience = _everyone_booked(count)
    sender, _ = get_user_model().objects.get_or_create(username="bench-coordinator", defaults={"is_staff": True})
    done = SweptWhenStalled(lambda: fake.ask("count"), count,
                            lambda: messages_requeue_stuck(grace=timedelta(seconds=10)))
    with worker_run_timed(lambda: _worker(env, args), warmup=args.warmup) as run:
        started = time.monotonic()
        broadcast = message_send(sender=sender, audience=audience, purpose="service",
                                 body="Polling day is Thursday: thank you all, and bring a friend if you can.")
        written = time.monotonic() - started
        wait_until(done, timeout=3600, what="the fake to receive every text")
        wait_until(lambda: not SmsMessage.objects.filter(broadcast=broadcast).exclude(status="queued").exists(),
                   timeout=600, what="every row to be accepted")
    received = fake.ask("messages")
    arrivals = sorted(m["received_at"] for m in received)
    per_text = Counter((m["to"], m["body"]) for m in received)
    rows = SmsMessage.objects.filter(broadcast=broadcast)
    return {
        "texts": broadcast.texts, "written": written, "elapsed": run.elapsed, "rate": count / run.elapsed,
        "measured_rate": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0,
        "duplicates": sum(n - 1 for n in per_text.values() if n > 1), "swept": done.swept,
        "lost": rows.exclude(status="queued").count() + max(0, count - len(per_text)),
        "contract_violations": len(fake.ask("violations")),
    }


def main() -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from bench.dataset import django_setup, shared_data_dir
    from bench.reporting import (
        add_common_args,
        benchmarks_section_write,
        machine_info,
        machine_line,
        markdown_table,
        noop_row,
        rounds_median,
    )
    from bench.stack import ChildServer, add_celery_worker_args, celery_worker_env, noop_run

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, database_url="postgres://postgres@127.0.0.1:5432/frontroom_bench_broadcast",
                    redis_url="redis://127.0.0.1:6379/12")
    parser.add_argument("--volunteers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="Texts per second for the rate-limited run.")
    parser.add_argument("--rate-volunteers", type=int, default=500, help="Volunteers in the rate-limited run.")
    add_celery_worker_args(parser, rounds=2, runs="message", warmup_help="Seconds for the worker to start.")
    args = parser.parse_args()

    # Daytime whatever the clock says (quiet hours would hold the texts), no limit unless asked, quiet logs.
    quiet = {"SMS_RATE_PER_SECOND": "0", "LOG_LEVEL": "WARNING", "SMS_QUIET_HOURS_START": "00:00",
             "SMS_QUIET_HOURS_END": "00:00", "MESSAGES_PER_SENDER_DAY": "1000"}
    os.environ.update(quiet)
    django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.conf import settings

    sys.path.insert(0, str(REPO_ROOT))
    from notify.sms.ratelimit import _client

    redis = _client(settings.REDIS_URL)
    redis.flushdb()
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
        baseline = noop_run(noop, redis=redis, key=NOOP_KEY, count=args.volunteers,
                            worker_start=lambda: _worker(env, args), warmup=args.warmup)
        print(f"round {number}: no-op tasks {baseline['rate']:.0f}/s", flush=True)
        fake.ask("clear")
        off = _message_run(args.volunteers, fake, {**env, "SMS_RATE_PER_SECOND": "0"}, args)
        print(f"round {number}: message, rate limit off: {off}", flush=True)
        rounds.append({"noop": baseline, "off": off, "ratio": off["rate"] / baseline["rate"]})

    fake.ask("clear")
    redis.flushdb()
    on = _message_run(args.rate_volunteers, fake, {**env, "SMS_RATE_PER_SECOND": str(args.rate)}, args)
    print(f"message, rate limit {args.rate:g}/s: {on}", flush=True)
    fake.stop()

    ratios, median, _middle = rounds_median(rounds)
    duplicates = sum(r["off"]["duplicates"] for r in rounds) + on["duplicates"]
    lost = sum(r["off"]["lost"] for r in rounds) + on["lost"]
    rows = []
    for number, r in enumerate(rounds, 1):
        off = r["off"]
        rows.append(noop_row(number, r["noop"], columns=4))
        rows.append([f"{number}: one message to {args.volunteers:,} booked → worker → SDK → loopback Twilio, "
                     "limit off", f"{off['texts']:,}", f"{off['elapsed']:.1f}", f"{off['rate']:.0f}",
                     f"{r['ratio'] * 100:.0f}%", f"{off['written']:.2f}", off["duplicates"], off["lost"]])
    rows.append([f"One message to {args.rate_volunteers:,}, rate limit {args.rate:g}/s (measured at the mock)",
                 f"{on['texts']:,}", f"{on['elapsed']:.1f}", f"{on['measured_rate']:.1f}", "-",
                 f"{on['written']:.2f}", on["duplicates"], on["lost"]])
    deviation = abs(on["measured_rate"] - args.rate) / args.rate * 100
    body = "\n".join([
        "# Messages to everyone booked (issue 25)",
        "",
        f"`.venv/bin/python bench/broadcast.py --volunteers {args.volunteers} --rounds {args.rounds} --rate "
        f"{args.rate:g} --rate-volunteers {args.rate_volunteers} --pool {args.pool} --concurrency "
        f"{args.concurrency}`: one Celery worker ({args.pool}, concurrency {args.concurrency}) on Redis and "
        "PostgreSQL, the `twilio` SDK pointed at bench/sms.py's loopback Twilio (its own process, checking every "
        "request against Twilio's spec). The no-op baseline and the message alternate, each with a fresh worker.",
        "",
        machine_line(machine_info()),
        "",
        markdown_table(["Run", "Texts", "Seconds", "Per second", "Of the no-op rate", "Write (s)", "Duplicates",
                        "Lost"], rows),
        "",
        f"- All sent exactly once: duplicates {duplicates}, lost {lost} (the sweep re-enqueued "
        f"{sum(r['off']['swept'] for r in rounds) + on['swept']}; requests breaking Twilio's spec: "
        f"{sum(r['off']['contract_violations'] for r in rounds) + on['contract_violations']}).",
        f"- Limit off, as a share of the no-op rate in the same round: {', '.join(f'{r * 100:.0f}%' for r in ratios)};"
        f" median **{median * 100:.0f}%**. Over 100%: the baseline is one task per message, the message's texts "
        "go 50 to a task (notify.outbox.rows_enqueue_batches), so the broker's per-task cost is shared.",
        f"- Rate limit {args.rate:g}/s: measured {on['measured_rate']:.1f}/s at the mock ({deviation:.1f}% off; "
        "the limit is a GCRA clock shared through Redis, notify.sms.ratelimit).",
        "- \"Write\": message_send's one transaction (audience read, the consent gate, rows COPYed) before the "
        "worker sends anything.",
        "- The sweep count is the harness's: after 10 s without a new text at the mock it re-enqueues every pending "
        "row older than 10 s, as beat's sweep would (a prefork worker still starting on a loaded machine, or texts "
        "waiting their turn under the limit); each re-enqueued row is claimed once, so it sends nothing twice.",
    ])
    print(body)
    if args.write:
        benchmarks_section_write("Messages to everyone booked (broadcasts)", body)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Outbox throughput by channel (SMS, email, webhooks), each against a no-op Celery task in the same run.

    .venv/bin/python bench/outbox.py --channel all --items 2000 --rounds 2

For each channel, in one run and with the same worker configuration (by default the one docker-compose.yml ships:
prefork, concurrency 8), alternating round by round, each run with a fresh worker:
  * baseline: a no-op Celery task (it only INCRs a Redis counter so completion can be counted), enqueued and
    executed end to end;
  * the channel: every row sent through its outbox task (claim, render, hand over, mark) to a loopback server in
    a process of its own, as the real one is elsewhere in production:
      sms       the `twilio` SDK to a loopback Twilio that checks every request against Twilio's OpenAPI spec
      email     Django's SMTP backend (one kept connection per worker process) to aiosmtpd, text + HTML + .ics;
                --email-batch N sends N per task, as the bulk paths do
      webhooks  signed POSTs (Standard Webhooks HMAC-SHA256) to an http.server that verifies every signature
    items/s from the first enqueue until the server has them all and every row says so;
  * duplicates and lost items (both must be 0), and the channel's own checks (spec violations, bad signatures).

The ratio reported per channel is the median of its rounds' ratios (channel rate / no-op rate of the same round):
on a shared 2-core machine one pair of runs can be several points off either way. With --sms-rate R, a last SMS
run with the shared rate limit on checks the rate measured at the loopback Twilio (goal: within 5% of R).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from celery import shared_task  # noqa: E402

from bench import dataset, reporting, stack  # noqa: E402

NOOP_KEY = "bench:outbox:noop"
CPU_TEXT = "Celery worker / PostgreSQL / Redis / this script, which enqueues / the rest, mostly the loopback server"


@functools.cache
def _redis():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(name="bench.outbox_noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    _redis().incr(NOOP_KEY)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser, database_url="postgres://postgres@127.0.0.1:5432/frontroom_bench_outbox",
                              redis_url="redis://127.0.0.1:6379/13")
    parser.add_argument("--channel", choices=["sms", "email", "webhooks", "all"], default="all",
                        help="Which outbox to measure (default: all three, one after the other in each round).")
    parser.add_argument("--items", type=int, default=2000, help="Items per run, baseline and channel alike.")
    parser.add_argument("--email-batch", type=int, default=1,
                        help="Emails per task: 1 (default) as a single booking's email goes; 50 as the bulk paths.")
    parser.add_argument("--sms-rate", type=float, default=0.0,
                        help="Messages/s for a last rate-limited SMS run (0, the default, skips it; 25 as recorded).")
    parser.add_argument("--sms-rate-messages", type=int, default=500, help="Messages in the rate-limited run.")
    stack.add_celery_worker_args(parser, rounds=3, runs="channel",
                                 warmup_help="Seconds to let a fresh worker settle after it first runs tasks.")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.update({"LOG_LEVEL": "WARNING", "SMS_RATE_PER_SECOND": "0", "WEBHOOK_ALLOW_HTTP": "true",
                       "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"})
    os.environ.pop("SMS_BACKEND", None)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    import redis as redis_lib
    from django.conf import settings

    from bench.outbox_channels import CHANNELS, Email, timed_send

    redis = redis_lib.Redis.from_url(settings.REDIS_URL)
    redis.flushdb()
    names = list(CHANNELS) if args.channel == "all" else [args.channel]
    channels = {name: (Email(args.email_batch) if name == "email" else CHANNELS[name]()) for name in names}
    base_env = stack.celery_worker_env(args)
    info = reporting.machine_info()
    progress = reporting.Progress("outbox", total=args.rounds * len(names) * 2 + (args.sms_rate > 0))

    def worker(env: dict):
        return lambda: stack.celery_worker_start(env, include="bench.outbox", name="benchoutbox", pool=args.pool,
                                                 concurrency=args.concurrency)

    def ready() -> None:
        """Wait until the fresh worker runs tasks (its eight processes take a while to boot under load), so the
        timing starts with a working worker in both runs."""
        redis.delete(NOOP_KEY)
        for index in range(16):
            noop.delay(-1 - index)
        stack.wait_until(lambda: int(redis.get(NOOP_KEY) or 0) >= 16, timeout=300, what="the worker to start")
        redis.delete(NOOP_KEY)

    rounds: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for number in range(1, args.rounds + 1):
            for name in names:
                channel = channels[name]
                env = {**base_env, **channel.env()}
                baseline = stack.noop_run(noop, redis=redis, key=NOOP_KEY, count=args.items, worker_start=worker(env),
                                          warmup=args.warmup, ready=ready)
                progress.step(f"round {number}, {name}: no-op {baseline['rate']:.0f}/s")
                channel.clear()
                run = timed_send(channel, channel.fill(args.items), worker_start=worker(env), warmup=args.warmup,
                                 ready=ready)
                rounds[name].append({"noop": baseline, "run": run, "ratio": run["rate"] / baseline["rate"]})
                progress.step(f"round {number}, {name}: {run['rate']:.0f}/s, "
                              f"{rounds[name][-1]['ratio']:.0%} of the no-op rate")
        limited = None
        if args.sms_rate > 0 and "sms" in channels:
            sms = channels["sms"]
            sms.rate = f"{args.sms_rate:g}"
            sms.clear()
            limited = timed_send(sms, sms.fill(args.sms_rate_messages), worker_start=worker({**base_env, **sms.env()}),
                                 warmup=args.warmup, ready=ready)
            progress.step(f"sms, rate limit {args.sms_rate:g}/s: {limited['measured_rate']:.1f}/s at the mock")
    finally:
        for channel in channels.values():
            channel.stop()
        redis.flushdb()
    body = report(args, info, channels, rounds, limited)
    print(body)
    if args.write:
        reporting.benchmarks_section_write("Outbox throughput: SMS, email, webhooks", body)
    problems = sum(r["run"]["duplicates"] + r["run"]["lost"] for runs in rounds.values() for r in runs)
    return 1 if problems else 0


def report(args, info, channels, rounds, limited) -> str:
    command = (f"`.venv/bin/python bench/outbox.py --channel {args.channel} --items {args.items} --rounds {args.rounds} "
               f"--pool {args.pool} --concurrency {args.concurrency}"
               + (f" --email-batch {args.email_batch}" if args.email_batch > 1 else "")
               + (f" --sms-rate {args.sms_rate:g}" if args.sms_rate else "") + "`")
    summary, detail = [], []
    for name, runs in rounds.items():
        ratios, median, middle = reporting.rounds_median(runs)
        channel = channels[name]
        checks = {k: sum(r["run"][k] for r in runs) for k in runs[0]["run"]
                  if k in ("duplicates", "lost", "spec violations", "bad signatures")}
        summary.append([name, channel.path, f"{statistics.median([r['noop']['rate'] for r in runs]):.0f}",
                        f"{statistics.median([r['run']['rate'] for r in runs]):.0f}",
                        ", ".join(f"{r:.0%}" for r in ratios), f"**{median:.0%}**",
                        ", ".join(f"{k} {v}" for k, v in checks.items())])
        detail.append(f"- {name}: CPU per item in the median round, every process on the machine ({CPU_TEXT}): "
                      f"no-op {stack.cpu_text(middle['noop']['cpu_ms'])}; {name} {stack.cpu_text(middle['run']['cpu_ms'])}"
                      f"; re-enqueued by the sweep: {sum(r['run']['swept'] for r in runs)}.")
    lines = [
        f"{command}: one Celery worker ({args.pool} pool, concurrency {args.concurrency}) on Redis and PostgreSQL; "
        f"{args.items:,} items per run; each channel's run alternates with a no-op task run of the same size, "
        f"{args.rounds} rounds, each run with a fresh worker.",
        "",
        reporting.machine_line(info),
        "",
        reporting.markdown_table(["Channel", "Path", "No-op/s (median)", "Channel/s (median)",
                                  "Of the no-op rate, by round", "Median ratio", "Checks (sums)"], summary),
        "",
        *detail,
    ]
    if limited:
        deviation = abs(limited["measured_rate"] - args.sms_rate) / args.sms_rate
        lines.append(f"- SMS with the shared rate limit at {args.sms_rate:g}/s: {limited['measured_rate']:.1f}/s measured "
                     f"at the loopback Twilio over {limited['count']:,} messages, {deviation:.1%} off (goal: within "
                     f"5%); duplicates {limited['duplicates']}, lost {limited['lost']}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Email outbox throughput: outbox rows → Redis → real Celery worker processes → SMTP → a loopback aiosmtpd server.

    .venv/bin/python bench/emails.py [--messages 5000] [--rounds 3] [--batch 50] [--write]

Measures, in one run and with the same worker configuration (by default the one docker-compose.yml ships:
prefork, concurrency 8):
  * baseline: a no-op Celery task (it only INCRs a Redis counter so completion can be counted), enqueued and
    executed end to end;
  * the outbox: every email sent through `email.message_send`, a task per email as a single booking's
    confirmation goes (or, with --batch N, through `email.messages_send_batch`, N emails per task as the bulk
    paths send them: reminders, assignment commits, digests) (claim, render the text and HTML bodies and the
    .ics, hand-over mark, SMTP over one kept connection per worker process), emails/s from the first enqueue
    until the SMTP server has them all and every row says "sent";
  * duplicates (a Message-ID the server received twice) and lost emails (rows not sent), both must be 0.

The baseline and the outbox runs alternate for --rounds rounds, each with a fresh worker; the ratio reported is
the median of the rounds' ratios (one pair of runs on a shared 2-core machine can be several points off).
"""

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# This file shares its name with the standard library's email package: with bench/ first on sys.path, as it is
# when the file is run as a script, every `import email` (Django's mail, aiosmtpd) would find this file instead.
# So bench/ comes off the path, and bench/_common.py is loaded by its file name.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH_DIR]

import argparse  # noqa: E402 - after the path is fixed
import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402

from celery import shared_task  # noqa: E402


def _common_load() -> None:
    if "_common" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_common", BENCH_DIR / "_common.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_common"] = module
        spec.loader.exec_module(module)


_common_load()
NOOP_KEY = "bench:email:noop"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.I | re.M)


@shared_task(name="bench.email_noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    from django.conf import settings

    from notify.sms.ratelimit import _client

    _client(settings.REDIS_URL).incr(NOOP_KEY)


CPU_CATEGORIES_TEXT = ("Celery worker / PostgreSQL / Redis / this script, which enqueues / the rest, mostly the "
                       "loopback SMTP server")


def _smtp_serve(port: int, control) -> None:
    """Child process: a real SMTP server (aiosmtpd) that keeps each message's Message-ID."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            found = MESSAGE_ID.search(envelope.content)
            received.append(found.group(1) if found else b"")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    while True:
        command = control.recv()
        if command == "count":
            control.send(len(received))
        elif command == "ids":
            control.send(list(received))
        elif command == "clear":
            received.clear()
            control.send(None)
        else:
            controller.stop()
            control.send(None)
            return


def _worker(env: dict, args) -> subprocess.Popen:
    from _common import celery_worker_start

    return celery_worker_start(env, include="bench.emails", name="benchemail", pool=args.pool,
                               concurrency=args.concurrency)


def _outbox_fill(count: int) -> list[int]:
    """`count` confirmed, proven bookings of volunteers who may be emailed, with their pending outbox rows, written
    in bulk (set-up, not measured)."""
    from _common import bench_slot, uk_mobile
    from django.db import connection
    from django.utils import timezone

    from notify.email.models import EmailMessage
    from volunteers.models import Booking, Volunteer

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE email_emailmessage, sms_smsmessage, volunteers_bookingevent, volunteers_booking, "
                       "volunteers_volunteer, canvass_slot, canvass_canvasssession, canvass_meetingpoint "
                       "RESTART IDENTITY CASCADE")
    slot = bench_slot(host_username="bench-email-host")
    now = timezone.now()
    volunteers = Volunteer.objects.bulk_create(
        Volunteer(phone=uk_mobile(i), name=f"Volunteer {i}", postcode="S10 1AA", lat=53.38, lng=-1.5,
                  email=f"volunteer{i}@example.org", consent_email=True, consent_email_at=now,
                  consent_email_version="2026-12-email-1", phone_verified_at=now)
        for i in range(count))
    bookings = Booking.objects.bulk_create(Booking(volunteer=v, slot=slot, status="confirmed", proven_at=now)
                                           for v in volunteers)
    messages = EmailMessage.objects.bulk_create(
        [EmailMessage(volunteer=b.volunteer, booking=b, kind="booking_confirmed", version=1) for b in bookings],
        batch_size=2000)
    return [m.pk for m in messages]


def _outbox_run(ids: list[int], smtp, env: dict, args) -> dict:
    from datetime import timedelta

    from _common import SweptWhenStalled, wait_until, worker_run_timed

    from notify.email.models import EmailMessage
    from notify.email.services import message_enqueue, messages_requeue_stuck
    from notify.email.services.outbox import messages_enqueue_batches

    done = SweptWhenStalled(lambda: smtp.ask("count"), len(ids),
                            lambda: messages_requeue_stuck(grace=timedelta(seconds=10)))
    with worker_run_timed(lambda: _worker(env, args), warmup=args.warmup) as run:
        if args.batch > 1:
            messages_enqueue_batches(ids, size=args.batch)
        else:
            for message_id in ids:
                message_enqueue(message_id)
        wait_until(done, timeout=3600, what="the SMTP server to receive every email", worker=run.worker)
        wait_until(lambda: not EmailMessage.objects.exclude(status="sent").exists(), timeout=600,
                   what="every row to say sent")
    elapsed = run.elapsed
    received = smtp.ask("ids")
    expected = set(EmailMessage.objects.values_list("message_id", flat=True))
    per_id: dict[bytes, int] = {}
    for message_id in received:
        per_id[message_id] = per_id.get(message_id, 0) + 1
    return {
        "messages": len(ids), "elapsed": elapsed, "rate": len(ids) / elapsed,
        "duplicates": sum(n - 1 for n in per_id.values() if n > 1),
        "lost": EmailMessage.objects.exclude(status="sent").count()
        + len(expected - {m.decode() for m in per_id}),
        "swept": done.swept,
        "cpu_ms": run.cpu_ms_per(len(ids)),
    }


def main() -> None:
    from _common import (
        ChildServer,
        add_celery_worker_args,
        add_common_args,
        benchmarks_section_write,
        celery_worker_env,
        cpu_text,
        django_setup,
        free_port,
        machine_info,
        machine_line,
        markdown_table,
        noop_row,
        noop_run,
        rounds_median,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, database_url="postgres://postgres@127.0.0.1:5432/frontroom_bench_email",
                    redis_url="redis://127.0.0.1:6379/14")
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=1,
                        help="Emails per task: 1 (default) is a task per email, as a single booking's email goes; "
                             "50 is how the bulk paths (reminders, assignment commits, digests) send them.")
    add_celery_worker_args(parser, rounds=3, runs="outbox", warmup_help="Seconds for the worker to start before timing.")
    args = parser.parse_args()

    os.environ.update({"LOG_LEVEL": "WARNING"})
    django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.conf import settings

    sys.path.insert(0, str(REPO_ROOT))
    from notify.sms.ratelimit import _client

    redis = _client(settings.REDIS_URL)
    redis.flushdb()
    smtp_port = free_port()
    smtp = ChildServer(_smtp_serve, smtp_port)  # as a mail relay is elsewhere in production
    assert smtp.greeting == "ready"
    env = celery_worker_env(args, EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                            EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port), EMAIL_TIMEOUT="10")

    rounds = []
    for number in range(1, args.rounds + 1):
        redis.delete(NOOP_KEY)
        baseline = noop_run(noop, redis=redis, key=NOOP_KEY, count=args.messages,
                            worker_start=lambda: _worker(env, args), warmup=args.warmup)
        print(f"round {number}: no-op tasks {baseline['rate']:.0f}/s", flush=True)
        smtp.ask("clear")
        run = _outbox_run(_outbox_fill(args.messages), smtp, env, args)
        print(f"round {number}: email outbox: {run}", flush=True)
        rounds.append({"noop": baseline, "email": run, "ratio": run["rate"] / baseline["rate"]})
    smtp.stop()

    ratios, median, middle = rounds_median(rounds)
    rows = []
    for number, r in enumerate(rounds, 1):
        run = r["email"]
        rows.append(noop_row(number, r["noop"], columns=3))
        rows.append([f"{number}: outbox → worker → SMTP → loopback aiosmtpd", f"{run['messages']:,}",
                     f"{run['elapsed']:.1f}", f"{run['rate']:.0f}", f"{r['ratio'] * 100:.0f}%", run["duplicates"],
                     run["lost"]])
    body = "\n".join([
        f"`.venv/bin/python bench/emails.py --messages {args.messages} --rounds {args.rounds} --batch {args.batch} "
        f"--pool {args.pool} --concurrency {args.concurrency}`: one Celery worker ({args.pool} pool, concurrency {args.concurrency}) on "
        "Redis and PostgreSQL; each email is claimed, rendered (plain text, HTML, the .ics invitation), marked "
        "handed over and sent over Django's SMTP backend (one kept connection per worker process) to a real SMTP "
        "server (aiosmtpd) on loopback, in a process of its own. "
        + ("A task per email, as a single booking's email goes. " if args.batch <= 1 else
           f"{args.batch} emails per task (`email.messages_send_batch`), as the bulk paths send them; the no-op "
           "baseline is still a task per message. ")
        + "The baseline and the outbox run alternate, "
        f"{args.rounds} rounds, each run with a fresh worker.",
        "",
        machine_line(machine_info()),
        "",
        markdown_table(["Run", "Emails", "Seconds", "Per second", "Of the no-op rate", "Duplicates", "Lost"], rows),
        "",
        f"- End-to-end email rate as a share of the no-op task rate in the same round: "
        f"{', '.join(f'{r * 100:.0f}%' for r in ratios)}; median **{median * 100:.0f}%** (goal: at least 50%).",
        f"- Duplicates {sum(r['email']['duplicates'] for r in rounds)} and lost "
        f"{sum(r['email']['lost'] for r in rounds)} over {sum(r['email']['messages'] for r in rounds):,} emails "
        f"(goal: 0 and 0), counted by Message-ID at the server; re-enqueued by the sweep: "
        f"{sum(r['email']['swept'] for r in rounds)}.",
        f"- CPU per email in the median round, every process on the machine (Linux `/proc`; {CPU_CATEGORIES_TEXT}): "
        f"no-op task {cpu_text(middle['noop']['cpu_ms'])}; email {cpu_text(middle['email']['cpu_ms'])}. With both "
        f"cores busy the ratio cannot pass their quotient, "
        f"{sum(middle['noop']['cpu_ms'].values()) / sum(middle['email']['cpu_ms'].values()) * 100:.0f}%.",
    ])
    print(body)
    if args.write:
        benchmarks_section_write("Email (issue 13)" if args.batch <= 1 else "Email in batches (issue 13)", body)


if __name__ == "__main__":
    main()

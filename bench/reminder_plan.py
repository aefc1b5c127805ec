"""Benchmark: what planning the day-before reminders across their window costs (issue 26).

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/reminder_plan.py [--bookings 30000] [--slots 600] [--rounds 3]

Loads --bookings confirmed bookings over --slots slots on one Saturday (bench/reminders.py's loader), then, in
interleaved rounds, at 11:05 on the Friday:

  plan only   the plan's own arithmetic: plan_times() for every reminder, next to a no-op list of the same length;
  no window   reminders_enqueue_due() with the window off (reminders handed to Celery as written: the no-op);
  window      reminders_enqueue_due() with the 17:00-20:00 window: each row planned (send_after, send_by), none
              enqueued until the release sweep.

CPU seconds (this process) and wall seconds; PostgreSQL's share is in the wall time only. Prints a table; writes
nothing. Checks the plan: never more than the capacity in a second, soonest slots first.
"""

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _dispatch_setup as setup  # noqa: E402
from reminders import instance_load  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=30_000)
    parser.add_argument("--slots", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--capacity", type=float, default=10.0)
    return parser.parse_args(argv)


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def main(argv=None) -> int:
    args = parse_args(argv)
    setup.django_setup()
    import redis
    from django.conf import settings
    from django.db.models import Count
    from django.test.utils import override_settings
    from django.utils import timezone

    from notify.sms.models import SmsMessage
    from notify.sms.services import reminders_enqueue_due
    from notify.sms.services.reminder_window import plan_times

    broker = redis.Redis.from_url(settings.REDIS_URL)
    saturday = setup.next_saturday()
    friday_at = timezone.make_aware(datetime.combine((saturday - timedelta(days=1)).date(), clock(11, 5)))
    print(f"[plan] loading {args.bookings:,} bookings over {args.slots:,} slots", file=sys.stderr, flush=True)
    instance_load(bookings=args.bookings, n_slots=args.slots, saturday=saturday)
    start = friday_at.replace(hour=17, minute=0)
    window = {"SMS_REMINDER_WINDOW_START": clock(17), "SMS_REMINDER_WINDOW_END": clock(20),
              "SMS_SENDER_CAPACITY_PER_SECOND": args.capacity, "SMS_RATE_PER_SECOND": args.capacity}
    no_window = {**window, "SMS_REMINDER_WINDOW_END": clock(17)}
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in ("no-op list", "plan_times", "no window", "window")}
    checks = []
    for round_ in range(args.rounds):
        for name in ("no-op list", "plan_times"):
            fn = ((lambda: [None] * args.bookings) if name == "no-op list"
                  else (lambda: plan_times(args.bookings, start=start, rate=args.capacity)))
            _, cpu, wall = timed(fn)
            results[name].append((cpu, wall))
        for name, overrides in (("no window", no_window), ("window", window)) if round_ % 2 == 0 else (
                ("window", window), ("no window", no_window)):
            SmsMessage.objects.filter(kind="reminder_day_before").delete()
            broker.flushdb()
            with override_settings(**overrides):
                written, cpu, wall = timed(lambda: reminders_enqueue_due(now=friday_at))
            assert written == args.bookings, (name, written)
            results[name].append((cpu, wall))
            if name == "window":
                busiest = (SmsMessage.objects.filter(kind="reminder_day_before").values("send_after")
                           .annotate(n=Count("id")).order_by("-n").values_list("n", flat=True).first())
                order = list(SmsMessage.objects.filter(kind="reminder_day_before").order_by("send_after", "id")
                             .values_list("booking__slot__starts_at", flat=True))
                checks.append((busiest, order == sorted(order), broker.llen("celery")))
            print(f"[plan] round {round_ + 1} {name}: cpu {cpu:.2f} s wall {wall:.2f} s", file=sys.stderr, flush=True)
    SmsMessage.objects.filter(kind="reminder_day_before").delete()
    broker.flushdb()

    def med(name, index):
        return statistics.median(r[index] for r in results[name])

    print(f"Measured {timezone.localtime():%Y-%m-%d %H:%M %Z} on {setup.machine()}; PostgreSQL and Redis on the "
          f"same machine, shared with other sessions. `bench/reminder_plan.py --bookings {args.bookings} --slots "
          f"{args.slots} --rounds {args.rounds} --capacity {args.capacity:g}`; medians of {args.rounds} interleaved "
          "rounds.\n")
    print("| run | CPU s (median) | wall s (median) | vs its baseline (CPU) |")
    print("|---|---|---|---|")
    print(f"| no-op: a list of {args.bookings:,} | {med('no-op list', 0):.4f} | {med('no-op list', 1):.4f} | |")
    print(f"| `plan_times` for {args.bookings:,} | {med('plan_times', 0):.4f} | {med('plan_times', 1):.4f} | "
          f"+{med('plan_times', 0) - med('no-op list', 0):.4f} s |")
    print(f"| `reminders_enqueue_due`, window off (sends enqueued as written) | {med('no window', 0):.2f} | "
          f"{med('no window', 1):.2f} | |")
    print(f"| `reminders_enqueue_due`, 17:00-20:00 window (planned, none enqueued) | {med('window', 0):.2f} | "
          f"{med('window', 1):.2f} | {med('window', 0) / med('no window', 0):.2f}x |")
    last = checks[-1]
    print(f"\n- Busiest planned second: {last[0]} texts (capacity {args.capacity:g}); soonest slots first: "
          f"{'yes' if all(c[1] for c in checks) else 'NO'}; Celery messages left by the planned write: {last[2]}.")
    print(f"- At {args.capacity:g} a second the {args.bookings:,} reminders take "
          f"{args.bookings / args.capacity / 60:.0f} minutes of the 180-minute window.")
    return 0 if all(c[0] <= args.capacity and c[1] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

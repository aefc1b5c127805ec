"""Benchmark: the day-before reminders for a polling-day weekend, written by the Celery beat task.

    .venv/bin/python bench/reminders.py [--bookings 100000] [--slots 2000] [--baseline 5000] [--no-write]

Loads --bookings confirmed bookings spread over --slots slots (one session each, at real seat centres) on
one Saturday, then, at 11:05 on the Friday (the default reminder time is 11:00):

  baseline  the way reminders were written before: one transaction per booking, message_record on a
            booking loaded with its slot, session, meeting point and seat (--baseline bookings of them);
  bulk      reminders_enqueue_due() itself, the beat task's body: the due query, then texts rendered once
            per slot and rows written with COPY, 2,000 per transaction, their sends enqueued in batches.

The sends themselves are not measured: the broker is real Redis and nobody consumes it, so each write pays
for its enqueue. Checks that every booking got exactly one reminder, with the text message_record writes.
"""

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _dispatch_setup as setup  # noqa: E402

SECTION = "## Reminders (COPY)"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=100_000, help="Confirmed bookings (default: %(default)s).")
    parser.add_argument("--slots", type=int, default=2000, help="Slots they are spread over (default: %(default)s).")
    parser.add_argument("--baseline", type=int, default=5000,
                        help="Bookings the one-at-a-time baseline writes (default: %(default)s).")
    parser.add_argument("--no-write", action="store_true", help="Print the results without updating BENCHMARKS.md.")
    return parser.parse_args(argv)


def instance_load(*, bookings: int, n_slots: int, saturday: datetime) -> None:
    from django.db import connection
    from django.utils import timezone

    from sessions.models import CanvassSession, MeetingPoint, Slot
    from volunteers.models import Booking, BookingEvent, Volunteer

    setup.wipe()
    rng = random.Random(11)
    seats = setup.seats_load()
    host = setup.host_user()
    now = timezone.now()
    booked_at = now - timedelta(days=7)
    places = []
    for i in range(n_slots):
        ons_code, lat, lng, _ = seats[i % len(seats)]
        start = saturday + timedelta(hours=rng.choice((10, 11, 13, 14, 16)))
        places.append((ons_code, lat + rng.uniform(-0.02, 0.02), lng + rng.uniform(-0.03, 0.03), start))
    setup.copy_rows(MeetingPoint._meta.db_table,
                    ["id", "host_id", "name", "address", "postcode", "lat", "lng", "public_lat", "public_lng", "seat_id",
                     "capacity", "accessibility_notes", "host_first_name", "host_phone", "is_active", "created_at",
                     "updated_at"],
                    ((i + 1, host.pk, f"Front room {i}", f"{i % 200 + 1} Bench Street", "S1 1AA", lat, lng, lat, lng,
                      seat, 60, "", "Aisha", "", True, now, now) for i, (seat, lat, lng, _) in enumerate(places)))
    setup.copy_rows(CanvassSession._meta.db_table,
                    ["id", "meeting_point_id", "seat_id", "title", "description", "what_to_bring", "status", "lat",
                     "lng", "postcode_district", "starts_at", "ends_at", "created_at", "updated_at", "requires_approval",
                     "review_reason"],
                    ((i + 1, i + 1, seat, f"Saturday doorstep {i}", "", "Good shoes", "published", lat, lng, "S1", start,
                      start + timedelta(hours=2), now, now, False, "") for i, (seat, lat, lng, start) in enumerate(places)))
    per_slot = -(-bookings // n_slots)
    slot_of = [i % n_slots for i in range(bookings)]
    filled = [0] * n_slots
    for s in slot_of:
        filled[s] += 1
    setup.copy_rows(Slot._meta.db_table, ["id", "session_id", "starts_at", "ends_at", "capacity", "turf",
                                          "confirmed_count"],
                    ((i + 1, i + 1, start, start + timedelta(hours=2), per_slot, "", filled[i])
                     for i, (_, _, _, start) in enumerate(places)))
    setup.copy_rows(Volunteer._meta.db_table,
                    ["id", "phone", "name", "email", "postcode", "lat", "lng", "seat_id", "max_travel_km",
                     "consent_sms", "sms_opted_out", "phone_invalid", "token", "created_at", "updated_at",
                     "consent_sms_version", "consent_email", "consent_email_version"],
                    ((i + 1, f"+4474{i:08d}", f"Volunteer {i}", "", "S10 1AA", 53.38, -1.5, None, None, True, False,
                      False, f"bench-{i}", booked_at, booked_at, "", False, "") for i in range(bookings)))
    setup.copy_rows(Booking._meta.db_table,
                    ["id", "volunteer_id", "slot_id", "status", "source", "manage_token", "version", "created_at",
                     "updated_at", "approval", "said_name", "proven_at"],
                    ((i + 1, i + 1, slot_of[i] + 1, "confirmed", "direct", f"bench-b-{i}", 1, booked_at, booked_at,
                      "not_required", "", booked_at) for i in range(bookings)))
    setup.copy_rows(BookingEvent._meta.db_table,
                    ["id", "booking_id", "kind", "version", "payload", "created_at", "processed_at"],
                    ((i + 1, i + 1, "booking_confirmed", 1, "{}", booked_at, booked_at) for i in range(bookings)))
    with connection.cursor() as cursor:
        for table in ("canvass_meetingpoint", "canvass_canvasssession", "canvass_slot", "volunteers_volunteer",
                      "volunteers_booking", "volunteers_bookingevent"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")


def baseline_write(*, count: int, saturday: datetime) -> float:
    """The earlier implementation: a transaction and message_record per due booking, loaded with its relations."""
    from django.db import transaction

    from notify.sms.models import SmsMessage
    from notify.sms.services.outbox import BOOKING_RELATED, message_record
    from volunteers.models import Booking

    due = (Booking.objects.filter(status="confirmed", slot__starts_at__gte=saturday,
                                  slot__starts_at__lt=saturday + timedelta(days=1))
           .select_related(*BOOKING_RELATED).order_by("pk")[:count])
    started = time.perf_counter()
    for booking in due:
        with transaction.atomic():
            message_record(booking=booking, kind=SmsMessage.Kind.REMINDER_DAY_BEFORE, version=booking.version)
    return time.perf_counter() - started


def main(argv=None) -> int:
    args = parse_args(argv)
    setup.django_setup()
    import redis
    from django.conf import settings
    from django.utils import timezone

    from notify.sms.models import SmsMessage
    from notify.sms.services import reminders_enqueue_due
    from notify.sms.texts import booking_text
    from volunteers.models import Booking

    log = lambda message: print(f"[reminders] {message}", file=sys.stderr, flush=True)  # noqa: E731
    broker = redis.Redis.from_url(settings.REDIS_URL)
    saturday = setup.next_saturday()
    friday_at = timezone.make_aware(datetime.combine((saturday - timedelta(days=1)).date(), clock(11, 5)))
    log(f"loading {args.bookings:,} confirmed bookings over {args.slots:,} slots on {saturday:%a %d %b}")
    instance_load(bookings=args.bookings, n_slots=args.slots, saturday=saturday)

    baseline_n = min(args.baseline, args.bookings)
    baseline_s = baseline_write(count=baseline_n, saturday=saturday)
    baseline_tasks = broker.llen("celery")
    log(f"baseline: {baseline_n:,} reminders one at a time in {baseline_s:.1f} s ({baseline_n / baseline_s:,.0f}/s)")
    SmsMessage.objects.filter(kind=SmsMessage.Kind.REMINDER_DAY_BEFORE).delete()
    broker.flushdb()

    started = time.perf_counter()
    written = reminders_enqueue_due(now=friday_at)
    bulk_s = time.perf_counter() - started
    bulk_tasks = broker.llen("celery")
    again = reminders_enqueue_due(now=friday_at + timedelta(minutes=5))
    log(f"bulk: {written:,} reminders in {bulk_s:.1f} s ({written / bulk_s:,.0f}/s); the next run wrote {again}")

    reminders = SmsMessage.objects.filter(kind=SmsMessage.Kind.REMINDER_DAY_BEFORE)
    distinct = reminders.values("booking").distinct().count()
    sample = random.Random(3).sample(range(1, args.bookings + 1), min(200, args.bookings))
    texts = dict(reminders.filter(booking_id__in=sample).values_list("booking_id", "body"))
    mismatched = sum(texts.get(b.pk) != booking_text(kind="reminder_day_before", booking=b)
                     for b in Booking.objects.filter(pk__in=sample).select_related("volunteer", "slot__session__meeting_point",
                                                                                   "slot__session__seat"))
    broker.flushdb()
    ok = written == args.bookings and distinct == args.bookings and again == 0 and mismatched == 0

    speedup = (written / bulk_s) / (baseline_n / baseline_s)
    body = "\n".join([
        setup.machine(),
        f"`bench/reminders.py --bookings {args.bookings} --slots {args.slots} --baseline {args.baseline}`: "
        f"{args.bookings:,} confirmed bookings over {args.slots:,} slots (one session each, at real seat centres) on "
        f"{saturday:%a %d %b}; the beat task runs at 11:05 the day before. Real Redis broker, no worker: each write "
        "pays for its enqueue, not for the send.",
        "",
        "| run | reminders written | seconds | per second | Celery messages | |",
        "|---|---|---|---|---|---|",
        f"| baseline: a transaction and `message_record` per booking | {baseline_n:,} | {baseline_s:.1f} | "
        f"{baseline_n / baseline_s:,.0f} | {baseline_tasks:,} | |",
        f"| `reminders_enqueue_due`: COPY, 2,000 per transaction | {written:,} | {bulk_s:.1f} | {written / bulk_s:,.0f} | "
        f"{bulk_tasks:,} | {speedup:.0f}× the baseline |",
        "",
        f"- Every booking got exactly one reminder: {'yes' if written == distinct == args.bookings else 'NO'} "
        f"({distinct:,} bookings with one); the next run five minutes later wrote {again}.",
        f"- Texts identical to `message_record`'s for a sample of {len(sample)}: "
        f"{'yes' if not mismatched else f'NO, {mismatched} differ'}.",
        f"- The {args.bookings:,} reminders took {bulk_s:.1f} s in {-(-args.bookings // 2000)} transactions; at the "
        f"baseline's rate they would take {args.bookings / (baseline_n / baseline_s):.0f} s in {args.bookings:,} "
        f"transactions and {args.bookings:,} Celery messages (the beat task's soft time limit is 250 s).",
    ])
    print(body)
    if not args.no_write:
        setup.benchmarks_md_update(SECTION, body)
        log("wrote BENCHMARKS.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

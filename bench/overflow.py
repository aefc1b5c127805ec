"""Benchmark: a flooded seat (Sheffield, Hallam) with 2,000 waitlisted volunteers overflowing to 50 slots in its
neighbouring seats (real adjacency).

    .venv/bin/python bench/overflow.py [--waitlisted 2000] [--slots 50] [--no-write]

Runs the overflow twice on fresh data: once as a single task, then as two concurrent runs (threads, each
with its own PostgreSQL connection) racing over the same waitlist. Reports the time to place everyone and
checks nobody is placed twice and no slot is overbooked. The SMS outbox receiver stays attached: every move
writes its booking events and their outbox rows in the same transaction.
"""

import argparse
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _dispatch_setup as setup  # noqa: E402

HALLAM = "E14000922"


def instance_load(*, waitlisted: int, n_slots: int) -> int:
    import numpy as np
    from django.utils import timezone

    from seats.models import Seat, SeatAdjacency
    from sessions.models import CanvassSession, MeetingPoint, Slot
    from volunteers.models import Booking, Volunteer

    setup.wipe()
    rng = np.random.default_rng(7)
    hallam = Seat.objects.get(pk=HALLAM)
    neighbours = list(Seat.objects.filter(pk__in=SeatAdjacency.objects.filter(from_seat=hallam).values("to_seat")))
    saturday = setup.next_saturday()
    start, end = saturday + timedelta(hours=10), saturday + timedelta(hours=12)
    host = setup.host_user()
    now = timezone.now()
    sessions = [(hallam, hallam.lat, hallam.lng)]
    for i in range(n_slots):  # one slot per session, part of the way from Hallam towards each neighbour
        seat = neighbours[i % len(neighbours)]
        share = rng.uniform(0.25, 0.5)
        sessions.append((seat, hallam.lat + share * (seat.lat - hallam.lat), hallam.lng + share * (seat.lng - hallam.lng)))
    setup.copy_rows(MeetingPoint._meta.db_table,
                    ["id", "host_id", "name", "address", "postcode", "lat", "lng", "seat_id", "capacity",
                     "accessibility_notes", "host_first_name", "host_phone", "is_active", "created_at", "updated_at"],
                    ((i + 1, host.pk, f"Room {i}", "1 Bench Street", "S1 1AA", lat, lng, seat.pk, 60, "", "Bench", "",
                      True, now, now) for i, (seat, lat, lng) in enumerate(sessions)))
    setup.copy_rows(CanvassSession._meta.db_table,
                    ["id", "meeting_point_id", "seat_id", "title", "description", "what_to_bring", "status", "lat",
                     "lng", "postcode_district", "starts_at", "ends_at", "created_at", "updated_at"],
                    ((i + 1, i + 1, seat.pk, f"Bench {i}", "", "", "published", lat, lng, "S1", start, end, now, now)
                     for i, (seat, lat, lng) in enumerate(sessions)))
    per_slot = -(-waitlisted // n_slots) + 5  # room for everyone, with a little to spare
    setup.copy_rows(Slot._meta.db_table, ["id", "session_id", "starts_at", "ends_at", "capacity", "turf",
                                          "confirmed_count"],
                    [(1, 1, start, end, 20, "", 20)] + [(i + 1, i + 1, start, end, per_slot, "", 0)
                                                         for i in range(1, n_slots + 1)])
    total = waitlisted + 20
    v_lat = hallam.lat + rng.normal(0, 0.01, total)
    v_lng = hallam.lng + rng.normal(0, 0.015, total)
    setup.copy_rows(Volunteer._meta.db_table,
                    ["id", "phone", "name", "email", "postcode", "lat", "lng", "seat_id", "max_travel_km",
                     "consent_sms", "sms_opted_out", "phone_invalid", "token", "created_at", "updated_at"],
                    ((i + 1, f"+4474{i:08d}", f"Volunteer {i}", "", "S10 1AA", float(v_lat[i]), float(v_lng[i]),
                      HALLAM, None, True, False, False, f"bench-{i}", now, now) for i in range(total)))
    setup.copy_rows(Booking._meta.db_table,
                    ["id", "volunteer_id", "slot_id", "status", "source", "manage_token", "version", "waitlisted_at",
                     "created_at", "updated_at"],
                    ((i + 1, i + 1, 1, "confirmed" if i < 20 else "waitlisted", "direct", f"bench-b-{i}", 1,
                      None if i < 20 else now + timedelta(milliseconds=i), now, now) for i in range(total)))
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("canvass_meetingpoint", "canvass_canvasssession", "canvass_slot", "volunteers_volunteer",
                      "volunteers_booking"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    return per_slot * n_slots


def overflow_once(parallel: int) -> float:
    from django.db import connection

    from dispatch.models import OverflowMove
    from dispatch.services.overflow import overflow_for_slot

    errors = []
    barrier = threading.Barrier(parallel)

    def work():
        try:
            barrier.wait()
            overflow_for_slot(slot_id=1, trigger=OverflowMove.Trigger.SWEEP)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(parallel)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def check(waitlisted: int) -> dict:
    from django.db.models import Count

    from dispatch.models import OverflowMove
    from sessions.models import Slot
    from volunteers.models import Booking

    moves = OverflowMove.objects.count()
    twice = OverflowMove.objects.values("volunteer").annotate(n=Count("id")).filter(n__gt=1).count()
    double_confirmed = (Booking.objects.filter(status="confirmed").values("volunteer").annotate(n=Count("id"))
                        .filter(n__gt=1).count())
    overbooked = sum(1 for s in Slot.objects.all() if s.confirmed_count > s.capacity or s.confirmed_count !=
                     Booking.objects.filter(slot=s, status="confirmed").count())
    still_waiting = Booking.objects.filter(status="waitlisted").count()
    return {"moved": moves, "moved_twice": twice, "double_confirmed": double_confirmed, "overbooked_slots": overbooked,
            "still_waitlisted": still_waiting, "placed_all": moves == waitlisted and still_waiting == 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waitlisted", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=50)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    setup.django_setup()
    from django.conf import settings

    settings.OVERFLOW_AUTO = False  # the bench drives the overflow itself
    setup.seats_load()
    rows = []
    for parallel in (1, 2):
        places = instance_load(waitlisted=args.waitlisted, n_slots=args.slots)
        elapsed = overflow_once(parallel)
        result = check(args.waitlisted)
        rows.append((parallel, places, elapsed, result))
        print(parallel, places, f"{elapsed:.1f}s", result, flush=True)
    lines = [
        setup.machine(),
        f"`bench/overflow.py --waitlisted {args.waitlisted} --slots {args.slots}`: Sheffield, Hallam (E14000922) "
        f"full with {args.waitlisted:,} waitlisted direct bookers (15 km default limit), {args.slots} slots in its "
        "real neighbouring seats at the same time. Each move: volunteer + booking locked, booking_place with the "
        "conditional UPDATE, booking_confirmed + booking_redirected events and their SMS outbox rows.",
        "",
        "| concurrent runs | places offered | time to place all | moves/s | moved | moved twice | double-confirmed "
        "| overbooked slots | still waitlisted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for parallel, places, elapsed, r in rows:
        lines.append(f"| {parallel} | {places:,} | {elapsed:.1f} s | {r['moved'] / elapsed:.0f} | {r['moved']:,} | "
                     f"{r['moved_twice']} | {r['double_confirmed']} | {r['overbooked_slots']} | {r['still_waitlisted']} |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        setup.benchmarks_md_update("## Overflow", body)


if __name__ == "__main__":
    main()

"""The data the mix draws from: sessions seeded as bench/search.py does, postcodes, the slots that take bookings."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from bench import dataset
from bench.load.config import log


def distinct_postcodes(data_dir: Path, count: int, rng: random.Random) -> list[str]:
    """`count` distinct GB postcodes, each a seat picked uniformly then a postcode in it (bench/search.py's way)."""
    by_seat = dataset.postcodes_by_seat(data_dir)
    seats = sorted(by_seat)
    chosen: dict[str, None] = {}
    for _ in range(count * 50):
        chosen[rng.choice(by_seat[rng.choice(seats)]).postcode] = None
        if len(chosen) >= count:
            break
    return list(chosen)[:count]

def data_prepare(args, data_dir: Path) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from bench.search import seed
    from sessions.models import CanvassSession, Slot

    # Pages use whitenoise's manifest (hashed, compressed names), as in production after collectstatic.
    call_command("collectstatic", "--noinput", verbosity=0)
    dataset.reference_data_load(data_dir, log=log)
    seed_args = argparse.Namespace(sessions=args.sessions, slots_per_session=2, sessions_per_room=2, seed=args.seed)
    seeded = 0.0
    if not (args.reuse and CanvassSession.objects.filter(status="published").count() == args.sessions):
        seeded = seed(seed_args, data_dir, log)
    with connection.cursor() as cursor:  # what earlier runs booked
        cursor.execute("TRUNCATE volunteers_volunteer, volunteers_booking, volunteers_phonechallenge, "
                       "sms_smsmessage, volunteers_bookingevent CASCADE")
        cursor.execute("UPDATE canvass_slot SET confirmed_count = 0 WHERE confirmed_count <> 0")
    rng = random.Random(args.seed + 5)
    session_ids = list(CanvassSession.objects.filter(status="published").values_list("id", flat=True))
    booking_sessions = rng.sample(session_ids, min(args.booking_sessions, len(session_ids)))
    booking_slots = list(Slot.objects.filter(session_id__in=booking_sessions).values_list("id", flat=True))
    places = sum(Slot.objects.filter(id__in=booking_slots).values_list("capacity", flat=True))
    return {"postcodes": distinct_postcodes(data_dir, args.postcodes, rng), "session_ids": session_ids,
            "booking_slots": booking_slots, "places": places, "seeded_s": seeded}

#!/usr/bin/env python
"""Hand-written statements against their ORM equivalents, side by side, in process (issue 23).

The house rule: a hand-written statement carries the figure that justifies it, and goes when a measurement says it
no longer pays. This bench times each helper of core/db.py and the other small hand-written statements on the
booking path against the ORM code that does the same thing (the helpers' SQLite fallbacks, or the plain query),
alternating round by round (A B B A ...) on the same data, inside transactions that are rolled back:

  get_with_related   core.db.get_with_related(Slot, id, related=SLOT_RELATED) (every booking request)
                     vs Slot.objects.select_related(...).filter(pk=id).first()
  get_by             core.db.get_by(PhoneChallenge, "token", token) (every proof)
                     vs PhoneChallenge.objects.filter(token=token).first()
  insert_or_get      core.db.insert_or_get(Booking(...)) (every booking, event and outbox row)
                     vs Booking.objects.get_or_create(volunteer, slot, defaults=...)
  upsert_returning   core.db.upsert_returning(Volunteer(...)) (every booking request's volunteer)
                     vs bulk_create(update_conflicts) then select_for_update().get() (its SQLite twin)
  slot_claim_place   sessions.services.slot_claim_place (every place taken): a conditional UPDATE
                     vs Slot.objects.filter(pk=id, confirmed_count__lt=F("capacity")).update(...)
  receipt_claim      notify.sms.services.webhooks.webhook_receipt_claim (every Twilio callback): INSERT ... ON
                     CONFLICT DO NOTHING vs create() in a savepoint, IntegrityError meaning "already handled"
  locate             seats.geocoding.LocalPostcodeGeocoder.locate (every booking and search)
                     vs Postcode.objects.filter(boundary_set=<current>, postcode=...).values_list(...).first()
  locate_district    seats.geocoding.LocalDistrictGeocoder.locate (every search: the results page and the API
                     locate a search by its district, web.page_cache keys it so) vs its twin in
                     bench/sql_vs_orm_twins.py, PostcodeDistrict.objects.filter(...).values_list(...).first()
                     (both return the same Location, checked before the run)
  seats_summary      seats.selectors.seats_summary (the results page's cards)
                     vs Seat.objects.filter(ons_code__in=...).values_list(<the summary fields>)

The notify statements against their twins in bench/sql_vs_orm_twins.py (the same rows; a claim as a conditional
UPDATE whose WHERE PostgreSQL re-checks after a racing worker's lock), among 9,000 sent texts:
  sms_claim          notify.sms.services.sending._claim_row (every text): UPDATE ... RETURNING with the flags
                     vs a conditional update() then values_list() over the joins
  host_text_none     notify.sms.services.hosts.host_text_record for a host who wants no texts (nearly every
                     booking): both sides read the host's choice with the ORM and stop
  host_text_wanted   the same for a host who wants texts (30 places taken): the choice read, the text rendered,
                     then one INSERT (the places counted inside it) vs count() and create() in a savepoint
(The cases of the statements the ORM replaced are in 3afae3b: sms_accept and sms_accept_commit, Twilio's SID
recorded with an asynchronous commit; webhook_claim, the delivery's UPDATE ... RETURNING; digests_first and
digests_again, the host digest's INSERT ... ON CONFLICT.)
For the claim the whole operation is the send, which this bench does not run: BENCHMARKS.md sets
its saving against the CPU of a send measured by bench/outbox.py.

CPU per call: this process (time.process_time) plus the PostgreSQL backend serving its connection (/proc), so a
statement that moves work into PostgreSQL is charged for it.

  .venv/bin/python bench/sql_vs_orm.py --calls 300 --rounds 6
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting  # noqa: E402

CASES = ("get_with_related", "get_by", "insert_or_get", "upsert_returning", "slot_claim_place", "receipt_claim",
         "locate", "locate_district", "seats_summary", "sms_claim", "host_text_none", "host_text_wanted")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser, database_url="postgres://postgres@127.0.0.1:5432/frontroom_bench_sql")
    parser.add_argument("--cases", default=",".join(CASES), help="Comma-separated cases (default: all).")
    parser.add_argument("--calls", type=int, default=300, help="Calls per side and round (default: %(default)s).")
    parser.add_argument("--rounds", type=int, default=6, help="Rounds per side, interleaved (default: %(default)s).")
    return parser.parse_args(argv)


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sides(case: str, fixture: dict):
    """(hand-written, ORM) callables of one argument, the call's index."""
    from django.db import IntegrityError, transaction
    from django.db.models import F

    from core.db import get_by, get_with_related, insert_or_get, upsert_returning
    from notify.sms.models import WebhookReceipt
    from notify.sms.services.webhooks import webhook_receipt_claim
    from sessions.models import Slot
    from sessions.services import slot_claim_place
    from volunteers.models import Booking, PhoneChallenge, Volunteer
    from volunteers.services import SLOT_RELATED

    slot, volunteers, token = fixture["slot"], fixture["volunteers"], fixture["token"]
    if case == "get_with_related":
        return (lambda i: get_with_related(Slot, slot.pk, related=SLOT_RELATED),
                lambda i: Slot.objects.select_related(*SLOT_RELATED).filter(pk=slot.pk).first())
    if case == "get_by":
        return (lambda i: get_by(PhoneChallenge, "token", token),
                lambda i: PhoneChallenge.objects.filter(token=token).first())
    if case == "insert_or_get":
        def orm(i):
            return Booking.objects.get_or_create(volunteer=volunteers[i], slot=slot,
                                                 defaults={"status": Booking.Status.CONFIRMED})
        return (lambda i: insert_or_get(Booking(volunteer=volunteers[i], slot=slot, status=Booking.Status.CONFIRMED),
                                        unique_fields=("volunteer", "slot")), orm)
    if case == "upsert_returning":
        def orm(i):
            phone = volunteers[i].phone
            Volunteer.objects.bulk_create([Volunteer(phone=phone, name="Bench", postcode="S10 1AA", lat=53.38, lng=-1.5)], update_conflicts=True,
                                          unique_fields=["phone"], update_fields=["phone"])
            return Volunteer.objects.select_for_update().get(phone=phone)
        return (lambda i: upsert_returning(Volunteer(phone=volunteers[i].phone, name="Bench", postcode="S10 1AA", lat=53.38, lng=-1.5), unique_fields=("phone",),
                                           update_fields=("phone",)), orm)
    if case == "slot_claim_place":
        return (lambda i: slot_claim_place(slot_id=slot.pk),
                lambda i: Slot.objects.filter(pk=slot.pk, confirmed_count__lt=F("capacity")).update(
                    confirmed_count=F("confirmed_count") + 1) == 1)
    if case == "receipt_claim":
        def orm(i):
            try:
                with transaction.atomic():
                    WebhookReceipt.objects.create(kind="status", message_sid=f"SM{i:032d}", message_status="sent")
                return True
            except IntegrityError:
                return False
        return (lambda i: webhook_receipt_claim(kind="status", message_sid=f"SM{i:032d}", message_status="sent"), orm)
    if case == "locate":
        from seats.geocoding import LocalPostcodeGeocoder
        from seats.models import Postcode, current_boundary_set_code

        geocoder = LocalPostcodeGeocoder()
        return (lambda i: geocoder.locate("S10 1AA"),
                lambda i: Postcode.objects.filter(boundary_set=current_boundary_set_code(), postcode="S10 1AA")
                .values_list("lat", "lng", "seat_id").first())
    if case == "locate_district":
        from bench import sql_vs_orm_twins as twins
        from seats.geocoding import LocalDistrictGeocoder

        geocoder = LocalDistrictGeocoder()
        return {"statement": lambda i: geocoder.locate("S10"), "orm": lambda i: twins.district_locate(geocoder, "S10"),
                "same": True}
    if case == "seats_summary":
        from seats.models import Seat
        from seats.selectors import _SEAT_SUMMARY_FIELDS, seats_summary

        codes = [slot.session.seat_id]

        def orm(i):
            return {row[0]: Seat(**dict(zip(_SEAT_SUMMARY_FIELDS, row, strict=True)))
                    for row in Seat.objects.filter(ons_code__in=codes).values_list(*_SEAT_SUMMARY_FIELDS)}
        return (lambda i: seats_summary(codes=codes), orm)
    return notify_sides(case, fixture)


def notify_sides(case: str, fixture: dict) -> dict:
    """The notify statements' sides: {"statement", "orm"}, and "same" where both must return the same values."""
    from datetime import timedelta

    from django.utils import timezone

    from bench import sql_vs_orm_twins as twins
    from notify.sms.conf import sms_setting
    from notify.sms.models import SmsMessage
    from notify.sms.services import hosts, sending

    def times(setting, name):
        now = timezone.now()
        return now, now - timedelta(seconds=setting(name))

    if case == "sms_claim":
        ids = fixture["sms_pending"]
        return {"statement": lambda i: sending._claim_row(ids[i], *times(sms_setting, "SMS_SENDING_STALE_SECONDS")),
                "orm": lambda i: twins.sms_claim_row(ids[i], *times(sms_setting, "SMS_SENDING_STALE_SECONDS")),
                "same": True}
    if case in ("host_text_none", "host_text_wanted"):
        booking = fixture["quiet_booking" if case == "host_text_none" else "booking"]
        kind = SmsMessage.Kind.HOST_BOOKED
        return {"statement": lambda i: hosts.host_text_record(booking=booking, kind=kind, version=1000 + i),
                "orm": lambda i: twins.host_text_record(booking=booking, kind=kind, version=1000 + i)}
    raise SystemExit(f"unknown case {case}")


def fixture_make(calls: int) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from notify.sms.models import WebhookReceipt
    from volunteers.models import Booking, PhoneChallenge, Volunteer

    Booking.objects.all().delete()
    WebhookReceipt.objects.all().delete()
    Volunteer.objects.filter(phone__startswith="+447400").delete()
    from seats.models import Postcode, PostcodeDistrict

    slot = dataset.bench_slot(host_username="bench-sql-host", capacity=30000)
    Postcode.objects.get_or_create(postcode="S10 1AA", defaults={"lat": 53.38, "lng": -1.5, "seat": slot.session.seat})
    PostcodeDistrict.objects.get_or_create(outcode="S10", defaults={"lat": 53.38, "lng": -1.5,
                                                                    "seat": slot.session.seat})
    volunteers = Volunteer.objects.bulk_create(
        [Volunteer(phone=dataset.uk_mobile(i), name=f"Volunteer {i}", postcode="S10 1AA", lat=53.38, lng=-1.5)
         for i in range(calls)])
    booking = Booking.objects.create(volunteer=volunteers[0], slot=slot, status=Booking.Status.CONFIRMED)
    challenge = PhoneChallenge.objects.create(volunteer=volunteers[0], booking=booking, phone=volunteers[0].phone,
                                              purpose=PhoneChallenge.Purpose.values[0], code_hash="x" * 64,
                                              max_attempts=5, expires_at=timezone.now() + timedelta(hours=1))
    return {"slot": slot, "volunteers": volunteers, "token": challenge.token,
            **notify_fixture_make(calls, slot, volunteers, booking)}


def notify_fixture_make(calls: int, slot, volunteers, booking) -> dict:
    """Rows for the notify cases: `calls` due texts of the booking, among 9,000 sent ones of
    30 bookings; a host who wants texts and one who does not."""
    from django.utils import timezone

    from notify.sms.models import HostSmsPreference, SmsMessage
    from volunteers.models import Booking

    Kind, Status, RANK = SmsMessage.Kind, SmsMessage.Status, SmsMessage.RANK
    now = timezone.now()
    SmsMessage.objects.all().delete()
    HostSmsPreference.objects.all().delete()
    booked = [booking] + Booking.objects.bulk_create(
        [Booking(volunteer=v, slot=slot, status=Booking.Status.CONFIRMED, proven_at=now) for v in volunteers[1:30]])
    sent = dict(status=Status.DELIVERED, status_rank=RANK[Status.DELIVERED], to="+447400000000", body="Sent",
                encoding="GSM-7", segments=1)
    SmsMessage.objects.bulk_create(
        [SmsMessage(booking=b, volunteer_id=b.volunteer_id, kind=Kind.REMINDER_SOON, version=v, twilio_sid=f"SM{b.pk:08d}{v:024d}",
                    **sent) for b in booked for v in range(300)], batch_size=3000)
    due = dict(volunteer_id=booking.volunteer_id, booking=booking, to="+447400000000", body="Your place is booked.",
               encoding="GSM-7", segments=1)
    pending = SmsMessage.objects.bulk_create([SmsMessage(kind=Kind.CONFIRMED, version=i + 1, **due)
                                              for i in range(calls)])
    HostSmsPreference.objects.create(host_id=slot.session.meeting_point.host_id, texts=True, mobile="+447400999999",
                                     mobile_proven_at=now)
    quiet_slot = dataset.bench_slot(host_username="bench-sql-quiet-host", capacity=100)
    quiet_booking = Booking.objects.create(volunteer=volunteers[0], slot=quiet_slot, status=Booking.Status.CONFIRMED,
                                           proven_at=now)
    return {"sms_pending": [m.pk for m in pending],
            "quiet_booking": _loaded(quiet_booking),
            "booking": _loaded(booking)}


def _loaded(booking):
    """The booking as the booking path hands it over: volunteer, slot, session and front room loaded."""
    from volunteers.models import Booking

    return Booking.objects.select_related("volunteer", "slot__session__meeting_point").get(pk=booking.pk)


def main(argv=None) -> int:
    args = parse_args(argv)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.db import connection, transaction

    info = reporting.machine_info()
    cases = [c for c in args.cases.split(",") if c]
    fixture = fixture_make(args.calls)
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    progress = reporting.Progress("sql_vs_orm", total=len(cases) * args.rounds * 2)
    results: dict[str, dict[str, list[float]]] = {c: {"statement": [], "orm": []} for c in cases}
    walls: dict[str, dict[str, list[float]]] = {c: {"statement": [], "orm": []} for c in cases}
    for case in cases:
        both = sides(case, fixture)
        if isinstance(both, tuple):
            both = {"statement": both[0], "orm": both[1]}
        if both.get("same"):  # both sides claim the same row and return the same values
            answers = []
            for side in ("statement", "orm"):
                with transaction.atomic():
                    answers.append(both[side](0))
                    transaction.set_rollback(True)
            if answers[0] != answers[1] or answers[0] is None:
                raise SystemExit(f"{case}: the sides differ: {answers}")
        for round_ in range(args.rounds):
            for side in (("statement", "orm") if round_ % 2 == 0 else ("orm", "statement")):
                call = both[side]
                with transaction.atomic():
                    call(0)  # warm: the first call builds what is cached
                    before, cpu, started = backend_cpu(backend), time.process_time(), time.perf_counter()
                    for i in range(args.calls):
                        call(i)
                    wall = time.perf_counter() - started
                    spent = time.process_time() - cpu + backend_cpu(backend) - before
                    transaction.set_rollback(True)
                results[case][side].append(spent / args.calls * 1000)
                walls[case][side].append(wall / args.calls * 1000)
                progress.step(f"{case} {side}: {results[case][side][-1]:.3f} ms")
    rows = []
    for case in cases:
        s, o = (statistics.median(results[case][k]) for k in ("statement", "orm"))
        pairs = [b / a for a, b in zip(results[case]["statement"], results[case]["orm"], strict=True)]
        ws, wo = (statistics.median(walls[case][k]) for k in ("statement", "orm"))
        rows.append([case, f"{s:.3f}", f"{o:.3f}", f"**{statistics.median(pairs):.2f}x**",
                     ", ".join(f"{p:.2f}" for p in pairs), f"{ws:.3f} / {wo:.3f}"])
    print(reporting.machine_line(info))
    print()
    print(f"`python bench/sql_vs_orm.py --calls {args.calls} --rounds {args.rounds}`: CPU ms per call, this process "
          "plus its PostgreSQL backend, medians of the rounds; inside rolled-back transactions.")
    print()
    print(reporting.markdown_table(["case", "hand-written ms/call", "ORM ms/call", "ORM / hand-written (median pair)",
                                    "pairs", "wall ms/call, hand-written / ORM"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

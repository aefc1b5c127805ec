#!/usr/bin/env python
"""CPU and SQL statements per booking request and proof, case by case, in process (issue 20's safety checks).

bench/request_cpu.py's proof mixes every kind of proof (some take a place from an unproven hold, which is work the
code before issue 20 never did); this script times each case alone, through the same WSGI stack
(bench/request_cpu.Wsgi), on a database bench/request_cpu.py prepared (--sessions 2000):

  room_req / room_proof   a request to a slot with room, then its proof (the place is the booking's)
  full_req / full_proof   a request to a slot full of proven places (waitlisted), then its proof

Each case is N requests, two rounds; CPU ms per request (time.process_time), the histogram of SQL statements per
request of the last round, and the proofs' answers. It changes two slots' capacities in that database.
To compare two checkouts side by side, run it from each checkout's directory (it imports that checkout's code):

  cd CHECKOUT && .venv/bin/python /path/to/bench/proof_cases.py DATABASE_URL REDIS_URL 300 [show|CASE]

"show" prints the statements of each case's first request; a CASE name prints cProfile's top functions for it."""
import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import sys
import time

sys.path.insert(0, os.getcwd())  # the checkout it is run from, whose code it measures

from bench import dataset  # noqa: E402
from bench import request_cpu as rc  # noqa: E402

CASES = ("room_req", "room_proof", "full_req", "full_proof")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="A database bench/request_cpu.py prepared (--sessions 2000).")
    parser.add_argument("redis_url", help="Broker the requests publish to (no worker consumes it).")
    parser.add_argument("n", type=int, help="Requests per case and round.")
    parser.add_argument("extra", nargs="?", default="", choices=["", "show", *CASES],
                        help='"show" prints each case\'s statements; a case name profiles it.')
    args = parser.parse_args()
    database_url, redis_url, n, extra = args.database_url, args.redis_url, args.n, args.extra
    show, profiled = extra == "show", extra if extra in CASES else None
    from bench.load import RAISED_LIMITS, data_prepare

    os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true", "DEBUG": "false", "SMS_RATE_PER_SECOND": "0",
                       "CELERY_TASK_ALWAYS_EAGER": "false", "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING"})
    os.environ.pop("SMS_BACKEND", None)
    dataset.django_setup(database_url=database_url, redis_url=redis_url)
    data = data_prepare(argparse.Namespace(sessions=2000, reuse=True, seed=2017, booking_sessions=50, postcodes=500),
                        dataset.shared_data_dir())
    from django.db import connection
    from django.db.models import F

    from bench.booking import texted_codes
    from sessions.models import Slot

    ids = sorted(Slot.objects.filter(session__status="published").values_list("id", flat=True))
    room_slot, full_slot = ids[-1], ids[-3]
    Slot.objects.filter(pk__in=[room_slot, full_slot]).update(capacity=1_000_000)
    connection.close()
    wsgi = rc.Wsgi()
    phones = iter(range(int(time.time()) % 10000 * 10000, 10**8))

    def book(slot: int) -> str:
        phone = f"+4475{next(phones):08d}"
        status, body = wsgi.call("POST", f"/api/slots/{slot}/bookings/", {
            "name": f"V {phone[-6:]}", "phone": phone, "postcode": data["postcodes"][0], "consent_sms": True})
        assert status == 202, body
        return json.loads(body)["challenge"]

    def prove(token: str, code: str) -> dict:
        status, body = wsgi.call("POST", f"/api/challenges/{token}/verify/", {"code": code})
        assert status == 200, body
        return json.loads(body)

    # The full slot: a few proven places, then closed at its count.
    tokens = [book(full_slot) for _ in range(5)]
    codes = texted_codes(tokens)
    for token in tokens:
        prove(token, codes[token])
    Slot.objects.filter(pk=full_slot).update(capacity=F("confirmed_count"))
    connection.close()
    statements: list[str] = []

    def wrapper(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    profiler = cProfile.Profile(time.process_time)
    results: dict[str, list] = collections.defaultdict(list)

    def timed(case: str, round_: int, calls) -> list:
        counts, answers, values = collections.Counter(), collections.Counter(), []
        started = time.process_time()
        for i, call in enumerate(calls):
            statements.clear()
            if profiled == case and round_ == 1:
                profiler.enable()
            with connection.execute_wrapper(wrapper):
                value = call()
            profiler.disable()
            values.append(value)
            counts[len(statements)] += 1
            if isinstance(value, dict):
                answers[value["status"]] += 1
            if show and round_ == 0 and i == 0:
                print(f"--- {case}")
                for sql in statements:
                    print("   ", sql[:250].replace("\n", " "))
        results[case].append(((time.process_time() - started) / len(values) * 1000, dict(counts), dict(answers)))
        return values

    for round_ in range(2):
        for case, slot in (("room", room_slot), ("full", full_slot)):
            tokens = timed(f"{case}_req", round_, [lambda slot=slot: book(slot)] * n)
            codes = texted_codes(tokens)
            timed(f"{case}_proof", round_, [lambda t=t, c=codes[t]: prove(t, c) for t in tokens])
    rc.queue_empty(redis_url)
    if profiled:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(90)
        print(out.getvalue())
    for case, rows in results.items():
        cpu = "  ".join(f"{row[0]:.2f} ms" for row in rows)
        print(f"{case:12s} {cpu}  statements {rows[-1][1]} {rows[-1][2] or ''}")


if __name__ == "__main__":
    main()

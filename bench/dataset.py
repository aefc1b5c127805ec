"""Data for the benches: the bench database (created and migrated), the reference data (seats, districts, sample
postcodes), COPY loaders, distinct phones and the one-slot fixture of the throughput benches.

Import order matters: call ``django_setup()`` before importing any app module.
"""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    configured = os.environ.get("FRONTROOM_SHARED_DATA")
    candidates = [Path(configured)] if configured else [REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for candidate in candidates:
        if (candidate / "PROVENANCE.md").exists():
            return candidate
    raise SystemExit(f"Reference data not found (tried {', '.join(map(str, candidates))}); set FRONTROOM_SHARED_DATA.")

def django_setup(*, database_url: str, redis_url: str | None) -> None:
    """Point the app at the bench database and broker, create the database if needed, migrate."""
    # A TERM (timeout, Ctrl-C from a wrapper) unwinds normally, so gunicorn_running stops its server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Thousands of requests from one address are the point of a benchmark, not an attack (docs/limits.md);
    # bench/ratelimit.py turns the limits back on for its own runs.
    os.environ.setdefault("RATE_LIMITS_ENABLED", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    _database_create_if_missing(database_url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

def _database_create_if_missing(database_url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    db = dj_database_url.parse(database_url)
    if "postgresql" not in db["ENGINE"]:
        raise SystemExit(f"The benchmarks need PostgreSQL, not {db['ENGINE']}.")
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
              "password": db["PASSWORD"] or None, "dbname": "postgres", "autocommit": True, "connect_timeout": 5}
    with psycopg.connect(**params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))

def copy_rows(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY rows into a table through Django's connection (inside the caller's transaction)."""
    from django.db import connection

    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count

def copy_models(model, objects: Iterable) -> int:
    """COPY unsaved model instances (with their pk set) into the model's table, like a fast bulk_create.

    Field defaults, auto_now and get_db_prep_save are honoured, so new columns with Python defaults
    need no change here. The caller resets the id sequence (see sequence_reset).
    """
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields]

    def rows():
        for obj in objects:
            yield tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)

    return copy_rows(model._meta.db_table, [f.column for f in fields], rows())

def sequence_reset(model) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(statement)

def reference_data_load(data_dir: Path, *, log=print) -> None:
    """Seats (via the project's importer when it exists) plus the sample postcodes and districts.

    The benchmarks' figures and seat codes are the 2010 set's (GE2017 results, postcode_sample_pcon2010.csv), so
    the bench database holds that set and makes it current; bench/import_postcodes.py --sets measures 2024."""
    from seats.models import BoundarySet, Postcode, PostcodeDistrict, Seat

    BoundarySet.objects.exclude(code="2010").update(is_current=False)
    BoundarySet.objects.filter(code="2010").update(is_current=True)

    if Seat.objects.count() < 650:
        how = _seats_import_with_command(data_dir)
        if Seat.objects.count() < 650:
            how = "bench fallback (bulk insert from the CSVs)"
            _seats_bulk_insert(data_dir)
        log(f"seats: {Seat.objects.count()} loaded by {how}")
    if PostcodeDistrict.objects.count() < 3000:
        _districts_insert(data_dir)
    if Postcode.objects.count() < 90_000:
        started = time.perf_counter()
        _postcodes_insert(data_dir)
        log(f"postcodes: {Postcode.objects.count()} rows in {time.perf_counter() - started:.1f} s")

def _seats_import_with_command(data_dir: Path) -> str:
    from django.core.management import call_command, get_commands

    if "import_seats" not in get_commands():
        return "nobody (no import_seats command yet)"
    out = io.StringIO()
    for args in (("--set", "2010"), ()):
        try:
            call_command("import_seats", *args, stdout=out, stderr=out)
            return "manage.py import_seats" + (" " + " ".join(args) if args else "")
        except Exception as exc:  # noqa: BLE001 - its interface may still be changing; fall back
            out.write(f"import_seats{args} failed: {exc}\n")
    return "nobody (import_seats failed)"

def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))

def _seats_bulk_insert(data_dir: Path) -> None:
    from django.db import transaction

    from seats.models import Seat, SeatAdjacency
    from seats.services import seat_priority_compute

    centroids = {row["ons_id"]: row for row in _read_csv(data_dir / "geo" / "constituency_centroids_2010set.csv")}
    seats = []
    for row in _read_csv(data_dir / "elections" / "ge2017_ge2019_summary.csv"):
        centre = centroids[row["ons_id"]]
        majority_pct = float(row["majority_pct_2017"]) if row["majority_pct_2017"] else None
        priority = seat_priority_compute(majority_pct=majority_pct)
        seats.append(Seat(
            ons_code=row["ons_id"], name=row["constituency_name"], nation=row["country_name"], region=row["region_name"],
            lat=float(centre["postcode_weighted_lat"]), lng=float(centre["postcode_weighted_long"]),
            area_km2=float(centre["area_km2"] or 0) or None, electorate=int(row["electorate_2017"] or 0) or None,
            election_year=2017, winner=row["first_party_2017"][:20], runner_up=row["second_party_2017"][:20],
            result=row["result_2017"], valid_votes=int(row["valid_votes_2017"] or 0) or None,
            majority=int(row["majority_2017"] or 0) or None, majority_pct=majority_pct,
            computed_priority=priority, priority=priority, boundary_set_id="2010", last_boundary_set_id="2010",
        ))
    pairs = []
    for row in _read_csv(data_dir / "geo" / "constituency_adjacency_2010set.csv"):
        for a, b in ((row["ons_id_a"], row["ons_id_b"]), (row["ons_id_b"], row["ons_id_a"])):
            pairs.append(SeatAdjacency(from_seat_id=a, to_seat_id=b, kind=row["adjacency_type"],
                                       shared_border_km=float(row["shared_border_km"] or 0)))
    with transaction.atomic():
        Seat.objects.bulk_create(seats, ignore_conflicts=True, batch_size=1000)
        SeatAdjacency.objects.bulk_create(pairs, ignore_conflicts=True, batch_size=2000)

def _districts_insert(data_dir: Path) -> None:
    from seats.models import PostcodeDistrict, Seat

    known = set(Seat.objects.values_list("ons_code", flat=True))
    PostcodeDistrict.objects.bulk_create(
        [PostcodeDistrict(boundary_set="2010", outcode=row["outcode"], lat=float(row["lat"]), lng=float(row["long"]),
                          seat_id=row["pcon_main"] if row["pcon_main"] in known else None,
                          postcode_count=int(row["n_postcodes"]))
         for row in _read_csv(data_dir / "postcodes" / "outcode_centroids.csv") if len(row["outcode"]) <= 4],
        ignore_conflicts=True, batch_size=2000,
    )

def _postcodes_insert(data_dir: Path) -> None:
    from django.db import connection, transaction

    rows = [(p.postcode, p.lat, p.lng, p.seat) for p in sample_postcodes(data_dir, include_ni=True)]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bench_postcode (LIKE seats_postcode INCLUDING DEFAULTS) ON COMMIT DROP")
        copy_rows("bench_postcode", ["boundary_set", "postcode", "lat", "lng", "seat_id"],
                  [("2010", *row) for row in rows])
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO seats_postcode (boundary_set, postcode, lat, lng, seat_id) "
                           "SELECT boundary_set, postcode, lat, lng, seat_id FROM bench_postcode "
                           "ON CONFLICT (boundary_set, postcode) DO NOTHING")

class SamplePostcode:
    __slots__ = ("postcode", "lat", "lng", "seat")

    def __init__(self, postcode: str, lat: float, lng: float, seat: str):
        self.postcode, self.lat, self.lng, self.seat = postcode, lat, lng, seat

_SAMPLE_CACHE: dict[tuple[Path, bool], list[SamplePostcode]] = {}


def sample_postcodes(data_dir: Path, *, include_ni: bool = False) -> list[SamplePostcode]:
    """The rows of postcode_sample_pcon2010.csv in canonical form; Great Britain only unless include_ni."""
    key = (data_dir, include_ni)
    if key not in _SAMPLE_CACHE:
        from seats.postcodes import postcode_normalise

        seen: set[str] = set()
        result = []
        for row in _read_csv(data_dir / "postcodes" / "postcode_sample_pcon2010.csv"):
            if not include_ni and row["outcode"].startswith("BT"):
                continue
            try:
                postcode = postcode_normalise(row["postcode"])
            except Exception:  # noqa: BLE001 - a handful of odd codes in the source; skip them
                continue
            if postcode in seen or len(postcode) > 8:
                continue
            seen.add(postcode)
            result.append(SamplePostcode(postcode, float(row["lat"]), float(row["long"]), row["pcon"]))
        _SAMPLE_CACHE[key] = result
    return _SAMPLE_CACHE[key]

def postcodes_by_seat(data_dir: Path) -> dict[str, list[SamplePostcode]]:
    by_seat: dict[str, list[SamplePostcode]] = {}
    for item in sample_postcodes(data_dir):
        by_seat.setdefault(item.seat, []).append(item)
    return by_seat

def postcodes_pick(data_dir: Path, count: int, rng: random.Random) -> list[SamplePostcode]:
    """`count` random GB postcodes, a seat chosen uniformly first, then a postcode in it.

    The sample holds every postcode of 7 test seats but only 100 of every other seat; picking the
    seat first spreads points like the electorate (seats have similar electorates) instead of
    piling a third of them into those 7 seats.
    """
    by_seat = postcodes_by_seat(data_dir)
    seats = sorted(by_seat)
    return [rng.choice(by_seat[rng.choice(seats)]) for _ in range(count)]

def uk_mobile(n: int) -> str:
    """A distinct valid UK mobile number (+447400000000 + n) for n < 1,000,000."""
    if not 0 <= n < 1_000_000:
        raise ValueError("n out of range")
    return f"+447400{n:06d}"

def bench_slot(*, host_username: str, capacity: int = 30000):
    """A seat, a host's front room, a session in three days and one slot with room for any bench volunteers."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from seats.models import Seat
    from sessions.models import CanvassSession, MeetingPoint, Slot

    seat, _ = Seat.objects.get_or_create(ons_code="E14000922", defaults={"name": "Sheffield, Hallam", "lat": 53.37,
                                                                         "lng": -1.55})
    host, _ = get_user_model().objects.get_or_create(username=host_username, defaults={"first_name": "Aisha"})
    point = MeetingPoint.objects.create(host=host, name="Aisha's front room", address="27 Psalter Lane, Sheffield",
                                        postcode="S11 8UX", lat=53.37, lng=-1.5, public_lat=53.37, public_lng=-1.5,
                                        seat=seat, capacity=60, host_first_name="Aisha")
    start = timezone.now() + timedelta(days=3)
    session = CanvassSession.objects.create(meeting_point=point, seat=seat, title="Saturday doorstep session",
                                            lat=53.37, lng=-1.5, postcode_district="S11", starts_at=start,
                                            ends_at=start + timedelta(hours=2))
    return Slot.objects.create(session=session, starts_at=start, ends_at=start + timedelta(hours=2), capacity=capacity)


def gb_seats_load(data_dir: Path) -> list:
    """Every 2010-set seat at its population-weighted centre with the 2017 priority band, and the real adjacency
    (tools/gb_seats.py, which the dispatch tests load too)."""
    from tools.gb_seats import gb_seats_load as load

    return load(data_dir)

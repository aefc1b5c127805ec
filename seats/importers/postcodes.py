"""Import full postcodes and postcode districts: COPY and a set-based merge on PostgreSQL, bulk_create elsewhere."""


import re
from collections.abc import Iterator
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, Value
from django.db.models.functions import StrIndex, Substr
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.importers.common import (
    _CANONICAL_RE,
    _COMPACT_RE,
    ImportReport,
    _bar,
    _columns,
    _coordinates,
    _open_csv,
    _rows,
)
from seats.models import DEFAULT_BOUNDARY_SET, BoundarySet, Postcode, PostcodeDistrict, Seat
from seats.postcodes import is_outcode, postcode_normalise

POSTCODE_COLUMNS = {"postcode": ("postcode", "pcds", "pcd"), "lat": ("lat", "latitude"),
                    "lng": ("long", "lng", "longitude"), "seat": ("pcon", "pcon_code", "seat")}
DISTRICT_COLUMNS = {"outcode": ("outcode",), "lat": ("lat",), "long": ("long",)}


def postcode_fast_normalise(raw: str) -> str | None:
    """postcode_normalise without the exception: the canonical postcode, or None when it is not valid."""
    if _CANONICAL_RE.match(raw):
        return raw
    if _COMPACT_RE.match(raw):
        return f"{raw[:-3]} {raw[-3:]}"
    try:
        return postcode_normalise(raw)
    except InvalidInput:
        return None


def postcode_file_kind(path: Path) -> str:
    """"postcodes" for a file with a postcode column, "districts" for one with only an outcode column."""
    with _open_csv(Path(path)) as (_, header, _raw):
        if any(alias in header for alias in POSTCODE_COLUMNS["postcode"]):
            return "postcodes"
        if any(alias in header for alias in DISTRICT_COLUMNS["outcode"]):
            return "districts"
    raise InvalidInput(gettext("%(name)s has neither a postcode nor an outcode column.") % {"name": Path(path).name}, code="bad_file")


def postcode_corrections_read(path: Path) -> dict[str, str]:
    """{canonical postcode: seat code} from a corrections CSV (postcode and pcon_mysociety, or pcon, columns).

    For the 2024 set: the live GB postcodes where the ultra-generalised (BUC) boundaries put a postcode in a
    different seat from mySociety's full-resolution lookup (shared data, PROVENANCE.md)."""
    corrections = {}
    with _open_csv(Path(path)) as (reader, header, _raw):
        found = _columns(header, Path(path), {"postcode": ("postcode",), "seat": ("pcon_mysociety", "pcon")})
        for row in reader:
            try:
                postcode, seat = postcode_fast_normalise(row[found["postcode"]]), row[found["seat"]].strip().upper()
            except IndexError:
                continue
            if postcode and seat:
                corrections[postcode] = seat
    return corrections


def _postcode_batches(reader, columns: dict, seats: dict[str, str], report: ImportReport, source: str,
                      batch_size: int, copy_text: bool, tick, boundary_set: str,
                      corrections: dict[str, str]) -> Iterator[list]:
    """Validated rows in batches: COPY text lines, or (postcode, lat, lng, seat) tuples.

    The hot loop of a 2.7M-row load, so per-row work is kept to a regex, two float() calls and two dict look-ups.
    """
    i_pc, i_lat, i_lng, i_seat = columns["postcode"], columns["lat"], columns["lng"], columns["seat"]
    normalise, null = postcode_fast_normalise, "\\N" if copy_text else None
    batch, rows, blank, unknown, corrected = [], 0, 0, 0, 0
    correct = corrections.get
    for row in reader:
        rows += 1
        try:
            raw, lat, lng = row[i_pc], row[i_lat], row[i_lng]
            code = row[i_seat] if i_seat is not None else ""
            if not (-90.0 <= float(lat) <= 90.0 and -180.0 <= float(lng) <= 180.0):
                raise ValueError
        except ValueError:
            report.reject(source, reader.line_num, raw, "bad coordinates")
            continue
        except IndexError:
            report.reject(source, reader.line_num, ",".join(row), "short row")
            continue
        postcode = normalise(raw)
        if postcode is None:
            report.reject(source, reader.line_num, raw, "invalid postcode")
            continue
        if corrections and (better := correct(postcode)) is not None and better != code:
            code = better
            corrected += 1
        seat = seats.get(code)
        if seat is None:
            seat = null
            if code:
                unknown += 1
            else:
                blank += 1
        # Coordinates go to COPY as the file spells them: float8 input accepts every string float() does.
        batch.append(f"{boundary_set}\t{postcode}\t{lat}\t{lng}\t{seat}\n" if copy_text
                     else (postcode, float(lat), float(lng), seat))
        if len(batch) >= batch_size:
            yield batch
            batch = []
            tick()
    if batch:
        yield batch
    report.counts.update(rows=rows, seat_unknown=unknown, seat_blank=blank)
    if corrections:
        report.counts["seat_corrected"] = corrected


def postcodes_import(*, path: Path, boundary_set: str = DEFAULT_BOUNDARY_SET, corrections: Path | None = None,
                     batch_size: int = 10_000, progress: bool = False, method: str | None = None) -> ImportReport:
    """Upsert one boundary set's full postcodes from a plain or gzipped CSV (postcode, lat, long[, pcon]).

    One transaction; idempotent; other sets' postcodes are untouched. Invalid postcodes and coordinates are
    skipped and counted; seat codes not in the set load as NULL. `corrections` (postcode, pcon_mysociety)
    replaces the file's seat for the postcodes it lists. For duplicate postcodes the last row wins. `method`
    is "copy" (PostgreSQL only, the default there) or "bulk_create" (any database).
    """
    path = Path(path)
    report = ImportReport()
    if not BoundarySet.objects.filter(code=boundary_set).exists():
        raise InvalidInput(gettext("No boundary set %(code)s.") % {"code": boundary_set}, code="unknown_set",
                           fields={"set": [gettext("Unknown boundary set.")]})
    fixes = postcode_corrections_read(corrections) if corrections else {}
    with transaction.atomic(), _open_csv(path) as (reader, header, raw), _bar(raw, path, progress) as tick:
        columns = _columns(header, path, POSTCODE_COLUMNS, optional=("seat",))
        seats = {code: code for code in Seat.objects.in_set(boundary_set).values_list("ons_code", flat=True)}
        method = method or ("copy" if connection.vendor == "postgresql" else "bulk_create")
        if method not in ("copy", "bulk_create") or (method == "copy" and connection.vendor != "postgresql"):
            raise InvalidInput(gettext("Cannot import with %(method)s on %(vendor)s.") % {"method": method, "vendor": connection.vendor}, code="bad_method")
        batches = _postcode_batches(reader, columns, seats, report, path.name, batch_size, method == "copy", tick,
                                    boundary_set, fixes)
        if method == "copy":
            _postcodes_load_postgresql(batches, report, boundary_set)
        else:
            _postcodes_load_portable(batches, report, batch_size, boundary_set)
        report.counts["districts_added"] = districts_from_postcodes(boundary_set=boundary_set)
    return report


def districts_from_postcodes(*, boundary_set: str = DEFAULT_BOUNDARY_SET) -> int:
    """Add the set's postcode districts that have postcodes but no row yet: the mean of their postcodes' points,
    the seat most of them are in, and their count. A district file's rows (districts_import) are kept as they
    are. Lets a volunteer give only a district ("SW11") wherever the postcodes came without a district file.
    Two grouped scans of the set's postcodes (a few seconds for all of them). Returns the rows added."""
    outcode = Substr("postcode", 1, StrIndex("postcode", Value(" ")) - 1)
    postcodes = Postcode.objects.filter(boundary_set=boundary_set).annotate(outcode=outcode)
    existing = set(PostcodeDistrict.objects.filter(boundary_set=boundary_set).values_list("outcode", flat=True))
    centres = {row["outcode"]: row for row in postcodes.values("outcode").annotate(
        mean_lat=Avg("lat"), mean_lng=Avg("lng"), n=Count("*")).order_by() if row["outcode"] not in existing}
    if not centres:
        return 0
    seats: dict[str, tuple[int, str]] = {}
    for row in (postcodes.filter(seat__isnull=False).values("outcode", "seat_id").annotate(n=Count("*"))
                .order_by("outcode", "-n", "seat_id")):
        if row["outcode"] in centres and row["outcode"] not in seats:
            seats[row["outcode"]] = (row["n"], row["seat_id"])
    PostcodeDistrict.objects.bulk_create(
        [PostcodeDistrict(boundary_set=boundary_set, outcode=code, lat=row["mean_lat"], lng=row["mean_lng"],
                          seat_id=seats[code][1] if code in seats else None, postcode_count=row["n"])
         for code, row in centres.items() if is_outcode(code)],
        ignore_conflicts=True)
    return len(centres)


# A re-import that changes more than this share of the table rewrites it with the indexes dropped: on the
# full file, updating every row in place (four index entries each) is about 2x slower (see BENCHMARKS.md).
REWRITE_SHARE = 0.25
REWRITE_MIN_ROWS = 100_000
STAGE, CHANGES, MERGED = "seats_postcode_import_stage", "seats_postcode_import_changes", "seats_postcode_import_merged"


COLUMNS = "boundary_set, postcode, lat, lng, seat_id"
KEY = "(boundary_set, postcode)"


def _postcodes_load_postgresql(batches: Iterator[list], report: ImportReport, boundary_set: str) -> None:
    """COPY into the table while the set has no rows (indexes rebuilt afterwards), else into a staging table and merge."""
    # bench/import_postcodes.py: COPY and merge, 360,202 rows/s first load against 48,584 for Django's
    # bulk_create(update_conflicts) in the same run, 7.4x (BENCHMARKS.md "Postcode import").
    table = connection.ops.quote_name(Postcode._meta.db_table)
    columns = COLUMNS
    with connection.cursor() as cursor:
        # Self-conflicting, so two imports queue up; readers carry on until a rewrite needs the table.
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table}), EXISTS (SELECT 1 FROM {table} WHERE boundary_set = %s)",
                       [boundary_set])
        any_rows, set_rows = cursor.fetchone()
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %s::regclass)", [table])
        rewritable = not cursor.fetchone()[0]  # TRUNCATE and dropping the primary key need no foreign keys to it
        if not set_rows and rewritable:
            # A new set is appended: another set's 2.7 M rows are not rewritten, only indexed again with these.
            report.method = ("PostgreSQL COPY into the empty table, indexes built afterwards" if not any_rows else
                             "PostgreSQL COPY appended to the table (a new set), indexes built afterwards")
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            if not any_rows:
                cursor.execute(f"TRUNCATE {table}")  # a fresh file keeps rows in file order for the duplicate rule
            rebuild = _pg_indexes_drop(cursor, table)
            staged = _pg_copy(cursor, table, columns, batches)
            _pg_indexes_build(cursor, table, rebuild, report)
            report.counts.update(created=staged - report.counts["duplicates"], updated=0, unchanged=0, duplicates=0)
            return

        _pg_merge(cursor, table, columns, batches, report, rewritable, boundary_set)


def _pg_merge(cursor, table: str, columns: str, batches: Iterator[list], report: ImportReport,
              rewritable: bool, boundary_set: str) -> None:
    """COPY into a staging table, then upsert the rows that changed, or rewrite the table when many did."""
    cursor.execute(f"CREATE UNLOGGED TABLE {STAGE} (LIKE {table} INCLUDING DEFAULTS)")
    staged = _pg_copy(cursor, STAGE, columns, batches)
    _pg_indexes_build(cursor, STAGE, [f"CREATE UNIQUE INDEX ON {STAGE} {KEY}"], report)
    unique = staged - report.counts["duplicates"]
    differs = "(p.lat, p.lng, p.seat_id) IS DISTINCT FROM (s.lat, s.lng, s.seat_id)"
    # A sample of ~30,000 rows tells an in-place update (few changes) from a rewrite (many) before paying for either.
    percent = min(100.0, 100.0 * 30_000 / max(unique, 1))
    cursor.execute(f"SELECT coalesce(avg((p.postcode IS NULL OR {differs})::int), 0) "
                   f"FROM {STAGE} s TABLESAMPLE SYSTEM (%s) LEFT JOIN {table} p "
                   f"ON p.boundary_set = s.boundary_set AND p.postcode = s.postcode", [percent])
    share = float(cursor.fetchone()[0])
    cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
    existing = cursor.fetchone()[0]
    if rewritable and share * unique >= max(REWRITE_MIN_ROWS, REWRITE_SHARE * existing):
        report.method = "PostgreSQL COPY into a staging table, merged with the table, table rewritten"
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        pick = ", ".join(f"CASE WHEN s.postcode IS NULL THEN p.{c} ELSE s.{c} END AS {c}"
                         for c in ("lat", "lng", "seat_id"))
        # This set's rows merged with the file, then the other sets' rows as they are.
        cursor.execute(
            f"CREATE UNLOGGED TABLE {MERGED} AS SELECT %s::varchar AS boundary_set, "
            f"coalesce(s.postcode, p.postcode) AS postcode, {pick}, "
            f"s.postcode IS NOT NULL AND p.postcode IS NULL AS is_new, "
            f"s.postcode IS NOT NULL AND p.postcode IS NOT NULL AND {differs} AS is_updated "
            f"FROM {STAGE} s FULL JOIN (SELECT * FROM {table} WHERE boundary_set = %s) p ON p.postcode = s.postcode "
            f"UNION ALL SELECT {columns}, false, false FROM {table} WHERE boundary_set <> %s",
            [boundary_set, boundary_set, boundary_set],
        )
        cursor.execute(f"SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE is_updated) FROM {MERGED}")
        created, updated = cursor.fetchone()
        cursor.execute(f"TRUNCATE {table}")
        rebuild = _pg_indexes_drop(cursor, table)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {MERGED}")
        _pg_indexes_build(cursor, table, rebuild, report)
        cursor.execute(f"DROP TABLE {MERGED}")
    else:
        report.method = "PostgreSQL COPY into a staging table, INSERT … ON CONFLICT DO UPDATE of the changed rows"
        cursor.execute(f"CREATE UNLOGGED TABLE {CHANGES} AS SELECT s.*, p.postcode IS NULL AS is_new FROM {STAGE} s "
                       f"LEFT JOIN {table} p ON p.boundary_set = s.boundary_set AND p.postcode = s.postcode "
                       f"WHERE p.postcode IS NULL OR {differs}")
        changed = cursor.rowcount
        cursor.execute(f"SELECT count(*) FROM {CHANGES} WHERE is_new")
        created = cursor.fetchone()[0]
        updated = changed - created
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {CHANGES} ON CONFLICT {KEY} "
                       f"DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng, seat_id = EXCLUDED.seat_id")
        cursor.execute(f"DROP TABLE {CHANGES}")
    cursor.execute(f"DROP TABLE {STAGE}")
    report.counts.update(created=created, updated=updated, unchanged=unique - created - updated, duplicates=0)


def _pg_copy(cursor, table: str, columns: str, batches: Iterator[list]) -> int:
    staged = 0
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for batch in batches:
            copy.write("".join(batch))
            staged += len(batch)
    return staged


def _pg_indexes_drop(cursor, table: str) -> list[str]:
    """Drop the table's indexes (and the constraints they back); return the DDL that rebuilds them, keys first."""
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname, pg_get_constraintdef(con.oid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass ORDER BY con.conname IS NULL, i.indisprimary DESC, c.relname",
        [table],
    )
    rebuild = []
    for index, index_def, constraint, constraint_def in cursor.fetchall():
        if constraint:
            name = connection.ops.quote_name(constraint)
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            rebuild.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {constraint_def}")
        else:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(index)}")
            rebuild.append(index_def)
    return rebuild


def _pg_indexes_build(cursor, table: str, statements: list[str], report: ImportReport) -> None:
    """Build the indexes; if the first (the key) finds duplicate postcodes, keep each one's last row and retry."""
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    try:
        with transaction.atomic():
            cursor.execute(statements[0])
    except IntegrityError:
        cursor.execute(f"DELETE FROM {table} a USING {table} b WHERE a.boundary_set = b.boundary_set "
                       f"AND a.postcode = b.postcode AND a.ctid < b.ctid")
        report.counts["duplicates"] += cursor.rowcount
        cursor.execute(statements[0])
    for statement in statements[1:]:
        cursor.execute(statement)
    cursor.execute(f"ANALYZE {table}")


def _postcodes_load_portable(batches: Iterator[list], report: ImportReport, batch_size: int,
                             boundary_set: str) -> None:
    before = Postcode.objects.filter(boundary_set=boundary_set).count()
    staged = 0
    for batch in batches:
        # One statement may not touch a row twice (PostgreSQL refuses), so the last duplicate in a batch wins here.
        rows = {postcode: (lat, lng, seat) for postcode, lat, lng, seat in batch}
        staged += len(rows)
        Postcode.objects.bulk_create(
            [Postcode(boundary_set=boundary_set, postcode=p, lat=lat, lng=lng, seat_id=seat)
             for p, (lat, lng, seat) in rows.items()],
            batch_size=batch_size, update_conflicts=True, unique_fields=["boundary_set", "postcode"],
            update_fields=["lat", "lng", "seat"],
        )
    report.method = "bulk_create with update_conflicts"
    report.counts["created"] = Postcode.objects.filter(boundary_set=boundary_set).count() - before
    # bulk_create cannot tell an update from a no-op; duplicates in different batches also land here.
    report.counts["updated_or_unchanged"] = staged - report.counts["created"]


def districts_import(*, path: Path, boundary_set: str = DEFAULT_BOUNDARY_SET, progress: bool = False) -> ImportReport:
    """Upsert one set's postcode districts (outcode, lat, long[, pcon_main, n_postcodes]). One transaction; idempotent."""
    path = Path(path)
    report = ImportReport(method="bulk_create with update_conflicts")
    if not BoundarySet.objects.filter(code=boundary_set).exists():
        raise InvalidInput(gettext("No boundary set %(code)s.") % {"code": boundary_set}, code="unknown_set",
                           fields={"set": [gettext("Unknown boundary set.")]})
    with transaction.atomic():
        seats = set(Seat.objects.in_set(boundary_set).values_list("ons_code", flat=True))
        existing = set(PostcodeDistrict.objects.filter(boundary_set=boundary_set).values_list("outcode", flat=True))
        districts: dict[str, PostcodeDistrict] = {}
        for line, row in _rows(path, progress, DISTRICT_COLUMNS):
            outcode = re.sub(r"\s+", "", row["outcode"]).upper()
            point = _coordinates(row, (("lat", "long"),))
            count = (row.get("n_postcodes") or "0").strip()
            seat = (row.get("pcon_main") or "").strip().upper()
            reason = ("invalid outcode" if not is_outcode(outcode) else "bad coordinates" if point is None
                      else "bad n_postcodes" if not count.isdigit() else None)
            if reason:
                report.reject(path.name, line, outcode, reason)
                continue
            if seat and seat not in seats:
                report.counts["seat_unknown"] += 1
            districts[outcode] = PostcodeDistrict(boundary_set=boundary_set, outcode=outcode, lat=point[0], lng=point[1],
                                                  postcode_count=int(count), seat_id=seat if seat in seats else None)
        PostcodeDistrict.objects.bulk_create(
            list(districts.values()), update_conflicts=True, unique_fields=["boundary_set", "outcode"],
            update_fields=["lat", "lng", "seat", "postcode_count"],
        )
    report.counts["created"] = len(districts.keys() - existing)
    report.counts["updated"] = len(districts) - report.counts["created"]
    return report

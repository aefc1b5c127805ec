"""Bulk imports of the reference geography: seats and their neighbours, postcodes, postcode districts.

Plain functions behind the import_seats and import_postcodes commands. Each import runs in one
transaction, is idempotent (a re-import updates rows, never duplicates them) and returns an
ImportReport that counts what happened and says why rows were rejected.
"""

import contextlib
import csv
import gzip
import io
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from tqdm import tqdm

from core.env import env_str
from core.errors import InvalidInput
from seats.models import Postcode, PostcodeDistrict, Seat, SeatAdjacency
from seats.postcodes import is_outcode, postcode_normalise
from seats.services import seat_effective_priority, seat_priority_compute

GZIP_MAGIC = b"\x1f\x8b"
EXAMPLES_PER_REASON = 10
ONS_CODE_RE = re.compile(r"^[ENSW]\d{8}$")
# Fast paths for the two spellings the source uses ("SW11 1AA", "YO901GA"); both are strict
# subsets of what postcode_normalise accepts, which handles everything else.
_CANONICAL_RE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}\Z")
_COMPACT_RE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2}\Z")
# Long party names that do not fit Seat.winner/runner_up (max 20 characters).
PARTY_ABBREVIATIONS = {"National Health Action Party": "NHA"}


def shared_data_dir() -> Path:
    """The reference data directory: $FRONTROOM_SHARED_DATA, ../shared/data beside the repo, or /work/shared/data."""
    configured = env_str("FRONTROOM_SHARED_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(settings.BASE_DIR).parent / "shared" / "data", Path("/work/shared/data")]
    return next((path for path in candidates if path.is_dir()), candidates[0])


@dataclass
class ImportReport:
    """What an import did: named counts, and rejected rows by reason with a few examples of each."""

    counts: Counter = field(default_factory=Counter)
    rejects: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    method: str = ""

    def reject(self, source: str, line: int, key: str, reason: str) -> None:
        self.rejects[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(f"{source}:{line} {key!r}")

    @property
    def rejected(self) -> int:
        return sum(self.rejects.values())

    def summary(self) -> str:
        lines = [", ".join(f"{name} {value}" for name, value in self.counts.items())]
        if self.method:
            lines.append(f"method: {self.method}")
        lines.append(f"rejected rows: {self.rejected}")
        for reason, count in self.rejects.most_common():
            lines.append(f"  {reason}: {count}")
            lines.extend(f"    {example}" for example in self.examples.get(reason, []))
            if count > len(self.examples.get(reason, [])):
                lines.append(f"    … and {count - len(self.examples[reason])} more")
        return "\n".join(lines)


class ImportRejected(InvalidInput):
    """Raised in strict mode when any row was rejected; the transaction has been rolled back."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{report.rejected} rows rejected; nothing was imported.", code="import_rejected")
        self.report = report


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@contextlib.contextmanager
def _open_csv(path: Path) -> Iterator[tuple[csv.reader, list[str], io.BufferedReader]]:
    """Open a plain or gzipped CSV (told apart by the magic bytes); yield the reader, header keys and raw file."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        with contextlib.ExitStack() as stack:
            binary = stack.enter_context(gzip.GzipFile(fileobj=raw)) if gzipped else raw
            text = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""))
            reader = csv.reader(text)
            header = [_header_key(name) for name in next(reader, [])]
            yield reader, header, raw


def _columns(header: list[str], path: Path, wanted: dict[str, tuple[str, ...]], optional=()) -> dict[str, int | None]:
    """Map each wanted column to its index, accepting any of its aliases; raise naming the missing ones."""
    found = {name: next((header.index(a) for a in aliases if a in header), None) for name, aliases in wanted.items()}
    missing = [name for name, index in found.items() if index is None and name not in optional]
    if missing:
        raise InvalidInput(f"{path.name} has no column for {', '.join(missing)} (header: {', '.join(header)}).",
                           code="bad_file", fields={"path": [f"Missing columns: {', '.join(missing)}."]})
    return found


def _rows(path: Path, progress: bool, required: dict | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {header key: value}) for each data row, with a progress bar over the file."""
    with _open_csv(path) as (reader, header, raw), _bar(raw, path, progress) as tick:
        _columns(header, path, required or {})
        for row in reader:
            yield reader.line_num, dict(zip(header, row, strict=False))
            tick()


@contextlib.contextmanager
def _bar(raw: io.BufferedReader, path: Path, enabled: bool):
    """A tqdm bar over the bytes read from `raw` (compressed bytes for gzip); yields a cheap tick()."""
    total = Path(path).stat().st_size
    with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, file=sys.stderr, disable=not enabled) as bar:
        def tick() -> None:
            bar.update(raw.tell() - bar.n)

        yield tick if enabled else (lambda: None)
        bar.update(total - bar.n)


def _float(value: str | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _coordinates(row: dict[str, str], pairs: tuple[tuple[str, str], ...]) -> tuple[float, float] | None:
    """The first (lat, lng) pair from the row that parses and lies on the globe."""
    for lat_key, lng_key in pairs:
        lat, lng = _float(row.get(lat_key)), _float(row.get(lng_key))
        if lat is not None and lng is not None and -90 <= lat <= 90 and -180 <= lng <= 180:
            return lat, lng
    return None


# --- Seats -----------------------------------------------------------------------------------

RESULT_COLUMNS = {name: (name,) for name in ("ons_id", "constituency_name", "first_party", "second_party",
                                             "electorate", "valid_votes", "majority")}
CENTROID_PAIRS = (("postcode_weighted_lat", "postcode_weighted_long"), ("centroid_lat", "centroid_long"),
                  ("label_lat", "label_long"))
SEAT_UPDATE_FIELDS = ["name", "nation", "region", "county", "lat", "lng", "area_km2", "electorate", "election_year",
                      "winner", "runner_up", "result", "valid_votes", "majority", "majority_pct",
                      "computed_priority", "priority", "updated_at"]
SEAT_TEXT_FIELDS = {"constituency_name": "name", "country_name": "nation", "region_name": "region",
                    "county_name": "county", "first_party": "winner", "second_party": "runner_up", "result": "result"}


def election_year_from_name(path: Path) -> int | None:
    match = re.search(r"GE[-_ ]?((?:19|20)\d\d)", Path(path).name, re.IGNORECASE)
    return int(match.group(1)) if match else None


def _text(row: dict[str, str], key: str, report: ImportReport) -> str:
    """A stripped text value clipped to the Seat field's length (long party names are abbreviated)."""
    value = (row.get(key) or "").strip()
    value = PARTY_ABBREVIATIONS.get(value, value)
    limit = Seat._meta.get_field(SEAT_TEXT_FIELDS[key]).max_length
    if len(value) > limit:
        report.counts["values_clipped"] += 1
        value = value[:limit]
    return value


def _result_parse(row: dict[str, str], report: ImportReport) -> tuple[str, dict] | str:
    """(ons code, Seat fields) for one results row, or the reason to reject it."""
    code = (row.get("ons_id") or "").strip().upper()
    if not ONS_CODE_RE.match(code):
        return "bad ONS code"
    numbers = {}
    for column in ("electorate", "valid_votes", "majority"):
        try:
            numbers[column] = int((row.get(column) or "").replace(",", "").strip())
        except ValueError:
            return f"missing or non-numeric {column}"
        if numbers[column] < 0:
            return f"negative {column}"
    if numbers["valid_votes"] == 0 or numbers["majority"] > numbers["valid_votes"]:
        return "majority and valid_votes inconsistent"
    fields = {model_field: _text(row, column, report) for column, model_field in SEAT_TEXT_FIELDS.items()}
    if not fields["name"] or not fields["winner"]:
        return "missing constituency name or first party"
    # The file's majority is authoritative (Speaker and independent seats), never recomputed from party votes.
    majority_pct = 100.0 * numbers["majority"] / numbers["valid_votes"]
    return code, {**fields, **numbers, "majority_pct": majority_pct}


def seats_import(*, results: Path, centroids: Path, adjacency: Path | None = None, year: int | None = None,
                 strict: bool = False, progress: bool = False) -> ImportReport:
    """Upsert seats from a HoC results CSV (GE2017 or GE2019 columns), their centres and the adjacency graph.

    One transaction; idempotent. Keeps coordinator overrides and target flags. The adjacency file is the
    whole graph: pairs missing from it are removed. Raises ImportRejected (rolled back) in strict mode.
    """
    results, centroids = Path(results), Path(centroids)
    year = year or election_year_from_name(results)
    if year is None:
        raise InvalidInput(f"Cannot tell the election year from {results.name}; pass --year.",
                           code="bad_file", fields={"year": ["Required."]})
    report = ImportReport()
    with transaction.atomic():
        parsed: dict[str, tuple[int, dict]] = {}
        for line, row in _rows(results, progress, RESULT_COLUMNS):
            outcome = _result_parse(row, report)
            if isinstance(outcome, str):
                report.reject(results.name, line, row.get("ons_id", ""), outcome)
            elif outcome[0] in parsed:
                report.reject(results.name, line, outcome[0], "duplicate seat")
            else:
                parsed[outcome[0]] = (line, outcome[1])
        report.counts["result_rows"] = len(parsed)

        existing = {code: rest for code, *rest in Seat.objects.select_for_update().values_list(
            "ons_code", "lat", "lng", "area_km2", "priority_override", "is_target")}
        centres: dict[str, tuple[float, float, float | None]] = {}
        for line, row in _rows(centroids, progress, {"ons_id": ("ons_id",)}):
            code = (row.get("ons_id") or "").strip().upper()
            point = _coordinates(row, CENTROID_PAIRS)
            if code not in parsed and code not in existing:
                report.reject(centroids.name, line, code, "unknown seat")
            elif point is None:
                report.reject(centroids.name, line, code, "no usable coordinates")
            else:
                centres[code] = (*point, _float(row.get("area_km2")))

        seats = []
        for code, (line, fields) in parsed.items():
            lat, lng, area = centres.get(code) or existing.get(code, (None, None, None))[:3]
            if lat is None:
                report.reject(results.name, line, code, "new seat without a centre in the centroids file")
                continue
            override, is_target = existing.get(code, (None, None, None, None, False))[3:]
            computed = seat_priority_compute(majority_pct=fields["majority_pct"])
            seats.append(Seat(ons_code=code, **fields, lat=lat, lng=lng, area_km2=area, election_year=year,
                              computed_priority=computed, priority_override=override, is_target=is_target,
                              priority=seat_effective_priority(computed=computed, override=override,
                                                               is_target=is_target)))
        Seat.objects.bulk_create(seats, update_conflicts=True, unique_fields=["ons_code"],
                                 update_fields=SEAT_UPDATE_FIELDS)
        report.counts["seats_created"] = sum(seat.ons_code not in existing for seat in seats)
        report.counts["seats_updated"] = len(seats) - report.counts["seats_created"]
        if adjacency is not None:
            _adjacency_import(Path(adjacency), report, progress)
        if strict and report.rejected:
            raise ImportRejected(report)
    return report


def _adjacency_import(path: Path, report: ImportReport, progress: bool) -> None:
    known = set(Seat.objects.values_list("ons_code", flat=True))
    kinds = set(SeatAdjacency.Kind.values)
    edges: dict[tuple[str, str], tuple[str, float]] = {}
    for line, row in _rows(path, progress, {name: (name,) for name in ("ons_id_a", "ons_id_b", "adjacency_type")}):
        a, b = (row.get("ons_id_a") or "").strip().upper(), (row.get("ons_id_b") or "").strip().upper()
        kind, km = (row.get("adjacency_type") or "").strip(), _float(row.get("shared_border_km") or "0")
        reason = ("unknown seat" if a not in known or b not in known else "seat next to itself" if a == b
                  else "unknown adjacency type" if kind not in kinds else "bad shared_border_km" if km is None
                  else None)
        if reason:
            report.reject(path.name, line, f"{a}-{b}", reason)
            continue
        edges[a, b] = edges[b, a] = (kind, km)
    SeatAdjacency.objects.bulk_create(
        [SeatAdjacency(from_seat_id=a, to_seat_id=b, kind=kind, shared_border_km=km)
         for (a, b), (kind, km) in edges.items()],
        update_conflicts=True, unique_fields=["from_seat", "to_seat"], update_fields=["kind", "shared_border_km"],
    )
    stale = [pk for pk, a, b in SeatAdjacency.objects.values_list("pk", "from_seat_id", "to_seat_id")
             if (a, b) not in edges]
    SeatAdjacency.objects.filter(pk__in=stale).delete()
    report.counts["neighbour_pairs"] = len(edges) // 2
    report.counts["adjacency_rows_removed"] = len(stale)


# --- Postcodes and districts -----------------------------------------------------------------

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
    raise InvalidInput(f"{Path(path).name} has neither a postcode nor an outcode column.", code="bad_file")


def _postcode_batches(reader, columns: dict, seats: dict[str, str], report: ImportReport, source: str,
                      batch_size: int, copy_text: bool, tick) -> Iterator[list]:
    """Validated rows in batches: COPY text lines, or (postcode, lat, lng, seat) tuples.

    The hot loop of a 2.7M-row load, so per-row work is kept to a regex, two float() calls and a dict look-up.
    """
    i_pc, i_lat, i_lng, i_seat = columns["postcode"], columns["lat"], columns["lng"], columns["seat"]
    normalise, null = postcode_fast_normalise, "\\N" if copy_text else None
    batch, rows, blank, unknown = [], 0, 0, 0
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
        seat = seats.get(code)
        if seat is None:
            seat = null
            if code:
                unknown += 1
            else:
                blank += 1
        # Coordinates go to COPY as the file spells them: float8 input accepts every string float() does.
        batch.append(f"{postcode}\t{lat}\t{lng}\t{seat}\n" if copy_text else (postcode, float(lat), float(lng), seat))
        if len(batch) >= batch_size:
            yield batch
            batch = []
            tick()
    if batch:
        yield batch
    report.counts.update(rows=rows, seat_unknown=unknown, seat_blank=blank)


def postcodes_import(*, path: Path, batch_size: int = 10_000, progress: bool = False,
                     method: str | None = None) -> ImportReport:
    """Upsert full postcodes from a plain or gzipped CSV (postcode, lat, long[, pcon]). One transaction; idempotent.

    Invalid postcodes and coordinates are skipped and counted; seat codes missing from the Seat table load
    as NULL. For duplicate postcodes the last row wins. `method` is "copy" (PostgreSQL only, the default
    there) or "bulk_create" (any database).
    """
    path = Path(path)
    report = ImportReport()
    with transaction.atomic(), _open_csv(path) as (reader, header, raw), _bar(raw, path, progress) as tick:
        columns = _columns(header, path, POSTCODE_COLUMNS, optional=("seat",))
        seats = {code: code for code in Seat.objects.values_list("ons_code", flat=True)}
        method = method or ("copy" if connection.vendor == "postgresql" else "bulk_create")
        if method not in ("copy", "bulk_create") or (method == "copy" and connection.vendor != "postgresql"):
            raise InvalidInput(f"Cannot import with {method!r} on {connection.vendor}.", code="bad_method")
        batches = _postcode_batches(reader, columns, seats, report, path.name, batch_size, method == "copy", tick)
        if method == "copy":
            _postcodes_load_postgresql(batches, report)
        else:
            _postcodes_load_portable(batches, report, batch_size)
    return report


# A re-import that changes more than this share of the table rewrites it with the indexes dropped: on the
# full file, updating every row in place (four index entries each) is about 2x slower (see BENCHMARKS.md).
REWRITE_SHARE = 0.25
REWRITE_MIN_ROWS = 100_000
STAGE, CHANGES, MERGED = "seats_postcode_import_stage", "seats_postcode_import_changes", "seats_postcode_import_merged"


def _postcodes_load_postgresql(batches: Iterator[list], report: ImportReport) -> None:
    """COPY into the table while it is empty (indexes rebuilt afterwards), else into a staging table and merge."""
    table = connection.ops.quote_name(Postcode._meta.db_table)
    columns = ", ".join(f.column for f in Postcode._meta.concrete_fields)  # postcode, lat, lng, seat_id
    with connection.cursor() as cursor:
        # Self-conflicting, so two imports queue up; readers carry on until a rewrite needs the table.
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        empty = not cursor.fetchone()[0]
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %s::regclass)", [table])
        rewritable = not cursor.fetchone()[0]  # TRUNCATE and dropping the primary key need no foreign keys to it
        if empty and rewritable:
            report.method = "PostgreSQL COPY into the empty table, indexes built afterwards"
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(f"TRUNCATE {table}")  # a fresh file keeps rows in file order for the duplicate rule
            rebuild = _pg_indexes_drop(cursor, table)
            staged = _pg_copy(cursor, table, columns, batches)
            _pg_indexes_build(cursor, table, rebuild, report)
            report.counts.update(created=staged - report.counts["duplicates"], updated=0, unchanged=0, duplicates=0)
            return

        _pg_merge(cursor, table, columns, batches, report, rewritable)


def _pg_merge(cursor, table: str, columns: str, batches: Iterator[list], report: ImportReport,
              rewritable: bool) -> None:
    """COPY into a staging table, then upsert the rows that changed, or rewrite the table when many did."""
    cursor.execute(f"CREATE UNLOGGED TABLE {STAGE} (LIKE {table} INCLUDING DEFAULTS)")
    staged = _pg_copy(cursor, STAGE, columns, batches)
    _pg_indexes_build(cursor, STAGE, [f"CREATE UNIQUE INDEX ON {STAGE} (postcode)"], report)
    unique = staged - report.counts["duplicates"]
    differs = "(p.lat, p.lng, p.seat_id) IS DISTINCT FROM (s.lat, s.lng, s.seat_id)"
    # A sample of ~30,000 rows tells an in-place update (few changes) from a rewrite (many) before paying for either.
    percent = min(100.0, 100.0 * 30_000 / max(unique, 1))
    cursor.execute(f"SELECT coalesce(avg((p.postcode IS NULL OR {differs})::int), 0) "
                   f"FROM {STAGE} s TABLESAMPLE SYSTEM (%s) LEFT JOIN {table} p ON p.postcode = s.postcode", [percent])
    share = float(cursor.fetchone()[0])
    cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
    existing = cursor.fetchone()[0]
    if rewritable and share * unique >= max(REWRITE_MIN_ROWS, REWRITE_SHARE * existing):
        report.method = "PostgreSQL COPY into a staging table, merged with the table, table rewritten"
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        pick = ", ".join(f"CASE WHEN s.postcode IS NULL THEN p.{c} ELSE s.{c} END AS {c}"
                         for c in ("lat", "lng", "seat_id"))
        cursor.execute(
            f"CREATE UNLOGGED TABLE {MERGED} AS SELECT coalesce(s.postcode, p.postcode) AS postcode, {pick}, "
            f"s.postcode IS NOT NULL AND p.postcode IS NULL AS is_new, "
            f"s.postcode IS NOT NULL AND p.postcode IS NOT NULL AND {differs} AS is_updated "
            f"FROM {STAGE} s FULL JOIN {table} p ON p.postcode = s.postcode"
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
                       f"LEFT JOIN {table} p ON p.postcode = s.postcode WHERE p.postcode IS NULL OR {differs}")
        changed = cursor.rowcount
        cursor.execute(f"SELECT count(*) FROM {CHANGES} WHERE is_new")
        created = cursor.fetchone()[0]
        updated = changed - created
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {CHANGES} ON CONFLICT (postcode) "
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
        cursor.execute(f"DELETE FROM {table} a USING {table} b WHERE a.postcode = b.postcode AND a.ctid < b.ctid")
        report.counts["duplicates"] += cursor.rowcount
        cursor.execute(statements[0])
    for statement in statements[1:]:
        cursor.execute(statement)
    cursor.execute(f"ANALYZE {table}")


def _postcodes_load_portable(batches: Iterator[list], report: ImportReport, batch_size: int) -> None:
    before = Postcode.objects.count()
    staged = 0
    for batch in batches:
        # One statement may not touch a row twice (PostgreSQL refuses), so the last duplicate in a batch wins here.
        rows = {postcode: (lat, lng, seat) for postcode, lat, lng, seat in batch}
        staged += len(rows)
        Postcode.objects.bulk_create(
            [Postcode(postcode=p, lat=lat, lng=lng, seat_id=seat) for p, (lat, lng, seat) in rows.items()],
            batch_size=batch_size, update_conflicts=True, unique_fields=["postcode"],
            update_fields=["lat", "lng", "seat"],
        )
    report.method = "bulk_create with update_conflicts"
    report.counts["created"] = Postcode.objects.count() - before
    # bulk_create cannot tell an update from a no-op; duplicates in different batches also land here.
    report.counts["updated_or_unchanged"] = staged - report.counts["created"]


def districts_import(*, path: Path, progress: bool = False) -> ImportReport:
    """Upsert postcode districts (outcode, lat, long[, pcon_main, n_postcodes]). One transaction; idempotent."""
    path = Path(path)
    report = ImportReport(method="bulk_create with update_conflicts")
    with transaction.atomic():
        seats = set(Seat.objects.values_list("ons_code", flat=True))
        existing = set(PostcodeDistrict.objects.values_list("outcode", flat=True))
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
            districts[outcode] = PostcodeDistrict(outcode=outcode, lat=point[0], lng=point[1],
                                                  postcode_count=int(count), seat_id=seat if seat in seats else None)
        PostcodeDistrict.objects.bulk_create(
            list(districts.values()), update_conflicts=True, unique_fields=["outcode"],
            update_fields=["lat", "lng", "seat", "postcode_count"],
        )
    report.counts["created"] = len(districts.keys() - existing)
    report.counts["updated"] = len(districts) - report.counts["created"]
    return report

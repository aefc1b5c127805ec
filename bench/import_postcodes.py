"""Benchmark: load the full 2.69M-row postcode file into PostgreSQL with `import_postcodes`.

    .venv/bin/python bench/import_postcodes.py [--repeat 3] [--baseline-rows 300000] [--write]

Measures, against DATABASE_URL (default postgres://postgres@127.0.0.1:5432/frontroom_bench_import, created and
migrated if needed, seats imported first so every postcode gets its seat):

1. a first load into the empty table (COPY, indexes built afterwards);
2. a re-import of the same file (COPY into staging, nothing changed, nothing written);
3. a re-import in which every row changed (seat NULL before, so the table is rewritten);
4. the same, forced through the in-place INSERT … ON CONFLICT DO UPDATE (why the rewrite exists);
5. the baseline: Django bulk_create(update_conflicts=True) in batches of 5,000 over the first N rows of the same
   file (same parsing and normalisation), into the empty table and again over those rows; extrapolated as rows/s.

Rows/s counts every data row read from the file, rejected ones included. Prints a markdown block; --write puts it
into BENCHMARKS.md under "## Postcode import", leaving the other sections alone.

    .venv/bin/python bench/import_postcodes.py --sets [--repeat 1] [--write]

measures the boundary sets instead (both sets' 650 seats imported first), in one run:

1. the baseline: the 2010 set's full file into the empty table (as above);
2. the 2024 set's full file, with its 35,839 corrections, appended beside the 2010 set's 2.7 M rows;
3. a re-import of the 2024 set (nothing changed: staging table, nothing written);
and writes "## Postcode import per boundary set (next general election)".
"""

import argparse
import gzip
import itertools
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench import reporting  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/frontroom_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

HEADING = "## Postcode import"
SETS_HEADING = "## Postcode import per boundary set"


def database_ensure() -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
                         dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))


def sql(statement: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)


def timed(action, repeat: int, prepare=None) -> tuple[list[float], object]:
    seconds, report = [], None
    for _ in range(repeat):
        if prepare:
            prepare()
        started = time.perf_counter()
        report = action()
        seconds.append(time.perf_counter() - started)
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="Postcode CSV(.gz) (default: the shared full file).")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per scenario; the median is reported (default 3).")
    parser.add_argument("--baseline-rows", type=int, default=300_000, help="Rows for the bulk_create baseline.")
    parser.add_argument("--write", action="store_true", help="Write the block into BENCHMARKS.md.")
    parser.add_argument("--sets", action="store_true",
                        help="Measure the 2024 set's import beside the 2010 set's (the baseline) instead.")
    parser.add_argument("--sample", action="store_true",
                        help="With --sets: the sample files (about 90,000 rows per set) instead of the full ones.")
    args = parser.parse_args()
    if args.sets:
        main_sets(args)
        return

    database_ensure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from seats import importers
    from seats.importers import postcodes as postcode_importer
    from seats.models import Postcode, Seat

    path = args.file or importers.shared_data_dir() / "postcodes" / "postcodes_full_pcon2010.csv.gz"
    call_command("migrate", verbosity=0)
    if Seat.objects.count() != 650:
        data = importers.shared_data_dir()
        importers.seats_import(results=data / "elections" / "HoC-GE2017-constituency-results.csv",
                               centroids=data / "geo" / "constituency_centroids_2010set.csv",
                               adjacency=data / "geo" / "constituency_adjacency_2010set.csv", boundary_set="2010")
    load_before = os.getloadavg()
    results = []  # (scenario, method, rows, seconds list)

    def run_import(source: Path = path, **kwargs):
        return lambda: importers.postcodes_import(path=source, boundary_set="2010", **kwargs)

    def every_seat_forgotten():
        sql("UPDATE seats_postcode SET seat_id = NULL")
        sql("VACUUM ANALYZE seats_postcode")

    seconds, report = timed(run_import(), args.repeat, prepare=lambda: sql("TRUNCATE seats_postcode"))
    rows = report.counts["rows"]
    assert Postcode.objects.count() == report.counts["created"], "first load lost rows"
    results.append(("First load into the empty table", report.method, rows, seconds))
    valid, rejected = report.counts["created"], report.rejected

    seconds, report = timed(run_import(), args.repeat)
    assert report.counts["unchanged"] == valid
    results.append(("Re-import, no row changed", report.method, rows, seconds))

    seconds, report = timed(run_import(), args.repeat, prepare=every_seat_forgotten)
    assert report.counts["updated"] == valid
    results.append(("Re-import, every row changed (seat was NULL)", report.method, rows, seconds))

    postcode_importer.REWRITE_SHARE = float("inf")
    seconds, report = timed(run_import(), 1, prepare=every_seat_forgotten)
    postcode_importer.REWRITE_SHARE = 0.25
    assert report.counts["updated"] == valid
    results.append(("Re-import, every row changed, in-place upsert forced (1 run)", report.method, rows, seconds))

    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "head.csv"
        with gzip.open(path, "rt", encoding="utf-8", newline="") as source, head.open("w", encoding="utf-8") as out:
            out.writelines(itertools.islice(source, args.baseline_rows + 1))
        baseline = run_import(head, method="bulk_create", batch_size=5000)
        seconds, report = timed(baseline, args.repeat, prepare=lambda: sql("TRUNCATE seats_postcode"))
        label = f"Baseline: Django bulk_create(update_conflicts), batches of 5,000, first {args.baseline_rows:,} rows"
        results.append((f"{label}, empty table", report.method, report.counts["rows"], seconds))
        seconds, report = timed(baseline, args.repeat)
        results.append((f"{label}, again over the same rows", report.method, report.counts["rows"], seconds))
    load_after = os.getloadavg()

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    import psycopg

    lines = [
        HEADING, "",
        f"Run on {date.today().isoformat()} with `.venv/bin/python bench/import_postcodes.py --repeat {args.repeat}` "
        f"against PostgreSQL {pg_version} on the same machine (default settings: shared_buffers 128MB, fsync on).",
        "",
        f"- {reporting.machine_line(reporting.machine_info())} psycopg {psycopg.__version__}.",
        f"- Load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load_before)} before and "
        f"{'/'.join(f'{x:.1f}' for x in load_after)} after (the machine is shared with other work, "
        "which can move these figures by up to ±30% between runs).",
        f"- File: `{path.name}`, {rows:,} data rows, of which {valid:,} load and {rejected:,} are rejected "
        "(retired `NPT` postcodes). Rows/s counts every data row read, rejected ones included; the time covers "
        "reading and gunzipping the file, normalising, the database work and the commit.",
        "- Baseline rows/s is measured on the first rows and extrapolated to the full file as "
        "rows ÷ (rows/s); it goes through the same parsing and normalisation, only the writes differ.",
        "",
        "| Scenario | Method | Rows | Seconds (median) | Rows/s | Full file at this rate |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario, method, count, runs in results:
        median = statistics.median(runs)
        rate = count / median
        runs_note = "" if len(runs) == 1 else f" ({', '.join(f'{s:.1f}' for s in runs)})"
        lines.append(f"| {scenario} | {method} | {count:,} | {median:.1f}{runs_note} | {rate:,.0f} | "
                     f"{rows / rate:.0f} s |")
    rate = {scenario: count / statistics.median(runs) for scenario, _, count, runs in results}
    first, rewrite, in_place, baseline = (list(rate.values())[i] for i in (0, 2, 3, 4))
    lines += [
        "",
        f"COPY fills the empty table {first / baseline:.1f}x as fast as the bulk_create baseline. When every row "
        f"changes, rewriting the table with its indexes dropped is {rewrite / in_place:.1f}x as fast as updating "
        "the rows in place (each update adds an entry to all four indexes), hence the rewrite above "
        "`REWRITE_SHARE` of the table.",
    ]
    block = "\n".join(lines) + "\n"
    print(block)
    if args.write:
        benchmarks_write(block)


def main_sets(args) -> None:
    database_ensure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from seats import importers
    from seats.models import Postcode, Seat

    data = importers.shared_data_dir()
    call_command("migrate", verbosity=0)
    if Seat.objects.in_set("2010").count() != 650:
        importers.seats_import(results=data / "elections" / "HoC-GE2017-constituency-results.csv",
                               centroids=data / "geo" / "constituency_centroids_2010set.csv",
                               adjacency=data / "geo" / "constituency_adjacency_2010set.csv", boundary_set="2010")
    if Seat.objects.in_set("2024").count() != 650 or not Seat.objects.filter(election_year=2024).exists():
        importers.seats_import(results=data / "elections" / "ge2024_summary.csv",
                               centroids=data / "geo" / "constituency_centroids_2024set.csv",
                               adjacency=data / "geo" / "constituency_adjacency_2024set.csv",
                               notional=data / "elections" / "notional_ge2019_2024set_summary.csv",
                               boundary_set="2024")
    postcodes = data / "postcodes"
    files = ({"2010": postcodes / "postcode_sample_pcon2010.csv", "2024": postcodes / "postcode_sample_pcon2024.csv"}
             if args.sample else {"2010": postcodes / "postcodes_full_pcon2010.csv.gz",
                                  "2024": postcodes / "postcodes_full_pcon2024.csv.gz"})
    corrections = postcodes / "pcon2024_pip_vs_mysociety_disagreements.csv.gz"
    load_before = os.getloadavg()
    results = []

    def load_2010():
        return importers.postcodes_import(path=files["2010"], boundary_set="2010")

    def load_2024():
        return importers.postcodes_import(path=files["2024"], boundary_set="2024", corrections=corrections)

    seconds_2010, seconds_2024, report_2010, report_2024 = [], [], None, None
    for _ in range(args.repeat):
        sql("TRUNCATE seats_postcode")
        runs, report_2010 = timed(load_2010, 1)
        seconds_2010 += runs
        runs, report_2024 = timed(load_2024, 1)
        seconds_2024 += runs
    assert Postcode.objects.filter(boundary_set="2010").count() == report_2010.counts["created"]
    assert Postcode.objects.filter(boundary_set="2024").count() == report_2024.counts["created"]
    results.append(("Baseline: the 2010 set into the empty table", report_2010.method,
                    report_2010.counts["rows"], seconds_2010))
    results.append((f"The 2024 set with its corrections ({report_2024.counts['seat_corrected']:,} seats "
                    "replaced), beside the 2010 set", report_2024.method, report_2024.counts["rows"], seconds_2024))
    seconds, report = timed(load_2024, args.repeat)
    assert report.counts["unchanged"] == report_2024.counts["created"]
    results.append(("Re-import of the 2024 set, no row changed", report.method, report.counts["rows"], seconds))
    load_after = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    lines = [
        SETS_HEADING, "",
        f"Run at {time.strftime('%Y-%m-%d %H:%M %Z')} with `.venv/bin/python bench/import_postcodes.py --sets "
        f"--repeat {args.repeat}{' --sample' if args.sample else ''}` against PostgreSQL {pg_version} on the same "
        "machine (default settings). The postcode table is keyed by (boundary set, postcode): the 2024 set is "
        "imported beside the 2010 set, which is its baseline in the same run. Goal: at least 100,000 rows/s.",
        "",
        f"- {reporting.machine_line(reporting.machine_info())}",
        f"- Load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load_before)} before and "
        f"{'/'.join(f'{x:.1f}' for x in load_after)} after: the machine's 2 cores were shared with other "
        "sessions' tests and benchmarks during the run, so these figures are lower than on a quiet machine.",
        f"- Files: `{files['2010'].name}` and `{files['2024'].name}` "
        f"({report_2024.counts['rows']:,} rows; {report_2024.rejected:,} rejected, retired `NPT` postcodes).",
        "",
        "| Scenario | Method | Rows | Seconds (median) | Rows/s | Goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for scenario, method, count, runs in results:
        median = statistics.median(runs)
        rate = count / median
        runs_note = "" if len(runs) == 1 else f" ({', '.join(f'{s:.1f}' for s in runs)})"
        lines.append(f"| {scenario} | {method} | {count:,} | {median:.1f}{runs_note} | {rate:,.0f} | "
                     f"{'met' if rate >= 100_000 else 'not met'} |")
    block = "\n".join(lines) + "\n"
    print(block)
    if args.write:
        benchmarks_write(block, SETS_HEADING)


def benchmarks_write(block: str, heading: str = HEADING) -> None:
    """Replace (or append) only this benchmark's section of BENCHMARKS.md (`block` starts with its heading)."""
    reporting.benchmarks_section_write(heading.removeprefix("## "), block.removeprefix(heading).lstrip("\n"))


if __name__ == "__main__":
    main()

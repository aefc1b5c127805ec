"""Shared helpers for the bench scripts: database set-up, reference data, timing and reporting.

Import order matters: call ``django_setup()`` before importing any app module.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import io
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"


def shared_data_dir() -> Path:
    configured = os.environ.get("FRONTROOM_SHARED_DATA")
    candidates = [Path(configured)] if configured else [REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for candidate in candidates:
        if (candidate / "PROVENANCE.md").exists():
            return candidate
    raise SystemExit(f"Reference data not found (tried {', '.join(map(str, candidates))}); set FRONTROOM_SHARED_DATA.")


# --- Django and the database ---------------------------------------------------------------------


def add_common_args(parser, *, database_url: str = DEFAULT_DATABASE_URL, redis_url: str = DEFAULT_REDIS_URL) -> None:
    """The options every bench script takes; `database_url` and `redis_url` are this script's defaults."""
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", database_url),
                        help="PostgreSQL database for the run; created and migrated if missing "
                             "(default: $BENCH_DATABASE_URL or %(default)s).")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", redis_url),
                        help="Redis used as the Celery broker by the app under test (default: %(default)s).")
    parser.add_argument("--seed", type=int, default=2017, help="Random seed (default: %(default)s).")
    parser.add_argument("--write", action="store_true",
                        help=f"Replace this script's section(s) of {BENCHMARKS_MD.name} with the results.")


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


# --- Reference data ------------------------------------------------------------------------------


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


# --- Timing and statistics -----------------------------------------------------------------------


def progress_log(script: str) -> Callable[[str], None]:
    """A `log(message)` for a script's progress: "[script] message" on stderr, at once (stdout is the report)."""
    def log(message: str) -> None:
        print(f"[{script}] {message}", file=sys.stderr, flush=True)

    return log


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms), "mean": sum(ms) / len(ms)}


# --- Machine and report --------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    from django.db import connection

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    uname = " ".join((platform.system(), platform.release(), platform.machine()))
    return {
        "uname": uname, "nproc": str(len(os.sched_getaffinity(0))), "cpu": cpu, "memory": mem,
        "postgresql": pg, "python": platform.python_version(),
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def machine_line(info: dict[str, str]) -> str:
    return (f"Machine: `{info['uname']}`, nproc {info['nproc']} ({info['cpu']}), {info['memory']} RAM; "
            f"PostgreSQL {info['postgresql']}, Python {info['python']}. Date: {info['date']}. "
            f"Load average at start: {info['load']} (the machine is shared with other work).")


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def benchmarks_section_write(heading: str, body: str, *, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the `## heading` section of BENCHMARKS.md, leaving other sections alone."""
    title = f"## {heading}"
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read() or "# Benchmarks\n\nFigures from the scripts in `bench/`; each section says how it was run.\n"
        section = f"{title}\n\n{body.strip()}\n"
        pattern = re.compile(rf"^{re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
        else:
            text = text.rstrip() + "\n\n" + section
        handle.seek(0)
        handle.truncate()
        handle.write(text)


# --- Gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn_running(*, app: str = "config.wsgi:application", workers: int = 2, worker_class: str = "sync", threads: int = 1, env: dict | None = None,
                     log_path: Path | None = None, cwd: Path | None = None) -> Iterator[str]:
    """Serve config.wsgi with gunicorn on a free local port; yield the base URL; stop it afterwards.

    `cwd` serves another checkout of the app (bench/redis_down.py's "before" run from a git worktree)."""
    import requests

    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")), app, "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
        "--backlog", "2048", "--log-level", "warning", "--timeout", "60",
    ]
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=cwd or REPO_ROOT, env={**os.environ, **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/health/", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /health/ within 30 s")
            time.sleep(0.2)
        # Let every worker finish booting (the probe only proves one is up).
        for _ in range(workers * 4):
            requests.get(f"{base}/health/", timeout=5)
        yield base
    finally:
        process_group_stop(process, timeout=20)
        log.close()


def process_group_stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """SIGTERM the process's group (started with start_new_session), SIGKILL it after `timeout` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def celery_worker_start(env: dict, *, include: str, name: str, pool: str, concurrency: int) -> subprocess.Popen:
    """A Celery worker of the app in a process group of its own (stop it with process_group_stop), also importing
    the benchmark's module `include` (where its no-op task is); `name` starts the worker's node name."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "celery_app", "worker", "--include", include,
         "-P", pool, "-c", str(concurrency), "-l", "WARNING", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"{name}{os.getpid()}-{time.monotonic_ns()}@%h"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr, start_new_session=True,
    )


def wait_until(predicate, *, timeout: float, what: str, worker: subprocess.Popen | None = None) -> None:
    """Poll `predicate` every 50 ms; SystemExit after `timeout` seconds, or as soon as `worker` (if given) exits."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        if worker is not None and worker.poll() is not None:
            raise SystemExit(f"the worker exited ({worker.returncode}) while waiting for {what}")
        time.sleep(0.05)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, user + system CPU seconds) of every process on this Linux machine (/proc)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS)
    return table


def _process_cpu_seconds() -> dict[int, tuple[str, float]]:
    """user + system CPU of every process on this Linux machine, by pid, with a category from its command line."""
    found = {}
    me = os.getpid()
    for pid, (_, command, seconds) in process_table().items():
        if pid == me:
            category = "client"
        elif "gunicorn" in command:
            category = "gunicorn"
        elif "celery" in command:
            category = "celery"
        elif "postgres" in command:
            category = "postgres"
        elif "redis-server" in command:
            category = "redis"
        else:
            category = "other"
        found[pid] = (category, seconds)
    return found


# The order cpu_text() prints a Celery benchmark's split in.
CPU_CATEGORIES = ("celery", "postgres", "redis", "client", "other")


def cpu_text(split: dict) -> str:
    """A per-item split from cpu_split() in ms, as "total (celery / postgres / redis / client / other)"."""
    return f"{sum(split.values()):.2f} ms (" + " / ".join(f"{split.get(c, 0.0):.2f}" for c in CPU_CATEGORIES) + ")"


@contextlib.contextmanager
def cpu_split() -> Iterator[dict[str, float]]:
    """CPU seconds spent by gunicorn, Celery, PostgreSQL, Redis, this process (the client) and everything else while
    the block runs (Linux /proc; processes that start and end inside the block count from zero)."""
    before = _process_cpu_seconds()
    split: dict[str, float] = {}
    yield split
    for pid, (category, seconds) in _process_cpu_seconds().items():
        earlier = before.get(pid)
        split[category] = split.get(category, 0.0) + seconds - (earlier[1] if earlier else 0.0)


# --- Celery throughput benchmarks (bench/sms.py, emails.py, webhooks.py) ------------------------


def add_celery_worker_args(parser, *, rounds: int, runs: str, warmup_help: str) -> None:
    """The worker and round options shared by the benchmarks that alternate a no-op baseline with `runs`."""
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"Baseline and {runs} runs, alternating; the ratio reported is the rounds' median.")
    parser.add_argument("--pool", default="prefork", choices=["threads", "prefork"],
                        help="Worker pool (default: prefork, as docker-compose.yml runs the worker).")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=4.0, help=warmup_help)


def celery_worker_env(args, **extra: str) -> dict:
    """The environment of a benchmark's worker processes: the bench database and broker, kept connections, and
    tasks really queued; also turns eager execution off in this process, which enqueues."""
    from celery_app import app

    app.conf.task_always_eager = False
    return {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
            "DATABASE_CONN_MAX_AGE": "600", "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONPATH": str(REPO_ROOT),
            **extra}


class ChildServer:
    """A loopback server (fake Twilio, SMTP, webhook receiver) run by `target(*args, control)` in a spawned process
    of its own, as the real one is elsewhere in production, so that its request handling does not wait for the
    GIL of this process while it enqueues. It answers commands over a pipe; its first message is `greeting` (the
    URL it serves, or just "ready"), and "stop" ends it."""

    def __init__(self, target: Callable, *args):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(target=target, args=(*args, child), daemon=True)
        self.process.start()
        self.greeting = self._control.recv()

    def ask(self, command: str):
        self._control.send(command)
        return self._control.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(timeout=10)


@dataclass
class TimedRun:
    """What worker_run_timed measured: the block's wall time and every process's CPU seconds (cpu_split)."""

    worker: subprocess.Popen
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per(self, count: int) -> dict[str, float]:
        return {category: seconds * 1000 / count for category, seconds in self.cpu.items()}


@contextlib.contextmanager
def worker_run_timed(worker_start: Callable[[], subprocess.Popen], *, warmup: float,
                     ready: Callable[[], None] | None = None) -> Iterator[TimedRun]:
    """Start a fresh worker, wait for `ready` (if given) and `warmup` seconds, then time the block; the worker is
    stopped afterwards, whatever happens."""
    worker = worker_start()
    try:
        if ready is not None:
            ready()
        time.sleep(warmup)
        run = TimedRun(worker)
        with cpu_split() as run.cpu:
            started = time.monotonic()
            yield run
            run.elapsed = time.monotonic() - started
    finally:
        process_group_stop(worker)


def noop_run(noop_task, *, redis, key: str, count: int, worker_start: Callable[[], subprocess.Popen],
             warmup: float, ready: Callable[[], None] | None = None) -> dict:
    """The baseline: `count` no-op tasks (each INCRs `key` in Redis, so completion can be counted) through the same
    broker and worker configuration as the measured run."""
    with worker_run_timed(worker_start, warmup=warmup, ready=ready) as run:
        for index in range(count):
            noop_task.delay(index)
        wait_until(lambda: int(redis.get(key) or 0) >= count, timeout=3600, what="the no-op tasks",
                   worker=run.worker)
    return {"count": count, "elapsed": run.elapsed, "rate": count / run.elapsed, "cpu_ms": run.cpu_ms_per(count)}


class SweptWhenStalled:
    """A wait_until predicate: has `count()` reached `target`? After `stall` seconds without progress it calls
    `sweep()` (which answers how many rows it re-enqueued; the total is `swept`): beat runs the outbox sweep every
    minute in production."""

    def __init__(self, count: Callable[[], int], target: int, sweep: Callable[[], int], *, stall: float = 10):
        self._count, self._target, self._sweep, self._stall = count, target, sweep, stall
        self._last_count, self._last_change = -1, time.monotonic()
        self.swept = 0

    def __call__(self) -> bool:
        count = self._count()
        if count != self._last_count:
            self._last_count, self._last_change = count, time.monotonic()
        elif time.monotonic() - self._last_change > self._stall:
            self.swept += self._sweep()
            self._last_change = time.monotonic()
        return count >= self._target


def rounds_median(rounds: list[dict]) -> tuple[list[float], float, dict]:
    """The rounds' ratios (measured rate / no-op rate) sorted, their median, and the round that holds it."""
    ratios = sorted(r["ratio"] for r in rounds)
    middle = sorted(rounds, key=lambda r: r["ratio"])[(len(rounds) - 1) // 2]
    return ratios, statistics.median(ratios), middle


def noop_row(number: int, run: dict, *, columns: int) -> list:
    """Round `number`'s baseline (a noop_run) as a row of the report table, with `columns` more cells, all "-"."""
    return [f"{number}: no-op Celery task (baseline)", f"{run['count']:,}", f"{run['elapsed']:.1f}",
            f"{run['rate']:.0f}", *["-"] * columns]


def bench_slot(*, host_username: str):
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
    return Slot.objects.create(session=session, starts_at=start, ends_at=start + timedelta(hours=2), capacity=30000)

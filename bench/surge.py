#!/usr/bin/env python
"""The texted-link surge (issue 26): 10,000 volunteers open the private link of their booking (/b/<token>), texted
to them all at once (a reminder), within two minutes, against gunicorn (gthread 2 x 4, DEBUG off) on PostgreSQL.

Side by side in the same run, interleaved in halves so both see the same machine: this checkout ("after": the
page in one indexed read, volunteers.manage_read) and the commit given by --before (default main: "before",
extracted with `git archive` into a temporary directory), each serving the same database on its own port. Each opens every link once, at the same offered rate
(--volunteers / --seconds, Poisson arrivals, open loop: latency counts from when the request was due). The
bookings are proven and confirmed and their phones were shown the front room before (the reminder's case), so
every page shows the address; a phone browser's User-Agent. Recorded: p50/p95/p99, errors, CPU per request of
gunicorn and of the database's PostgreSQL backends (Linux /proc), and the statements one GET runs in each
checkout (Django's query log, in-process), next to /health/ (closed loop) on the same server in the same run.

  .venv/bin/python bench/surge.py                           # as recorded (about 6 minutes)
  .venv/bin/python bench/surge.py --volunteers 2000 --seconds 30   # a quick try
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_surge"
PHONE_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
log = reporting.progress_log("surge")

# Run in the other checkout (its own code, same database): the statements one GET of a link runs.
_COUNT_STATEMENTS = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_USER_AGENT=sys.argv[2])
client.get("/b/" + sys.argv[1])
with CaptureQueriesContext(connection) as queries:
    status = client.get("/b/" + sys.argv[1]).status_code
sql = [q["sql"] for q in queries.captured_queries]
print(json.dumps({"status": status, "statements": sql}))
"""


# The same, timing this process's CPU over repeated GETs of one link (the app's share of a request, no network).
_CPU_PER_GET = """
import json, os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.test import Client
client = Client(HTTP_USER_AGENT=sys.argv[2])
for _ in range(30):
    client.get("/b/" + sys.argv[1])
rounds = []
for _ in range(5):
    started = time.process_time()
    for _ in range(100):
        client.get("/b/" + sys.argv[1])
    rounds.append((time.process_time() - started) * 10)
print(json.dumps(sorted(rounds)))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_SURGE_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--before", default="main",
                        help="The commit to compare with, served from a `git archive` of it (default: %(default)s).")
    parser.add_argument("--volunteers", type=int, default=10_000, help="Links opened (default: %(default)s).")
    parser.add_argument("--seconds", type=float, default=120.0, help="Within this long (default: %(default)s).")
    parser.add_argument("--sessions", type=int, default=400, help="Sessions the bookings are on.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--health-requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--cpu-only", action="store_true",
                        help="Only the statements and in-process CPU per GET of each checkout, no surge.")
    return parser.parse_args(argv)


def data_prepare(args) -> list[str]:
    """--sessions sessions (bench/search.py's seed) and --volunteers proven, confirmed bookings on their slots, each
    phone shown its front room before (a ledger row); the manage tokens, shuffled."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.search import seed
    from sessions.models import Slot
    from volunteers.models import Booking, FrontRoomDisclosure, Volunteer

    data_dir = dataset.shared_data_dir()
    dataset.reference_data_load(data_dir, log=log)
    seed(argparse.Namespace(sessions=args.sessions, slots_per_session=2, sessions_per_room=2, seed=args.seed),
         data_dir, log)
    now = timezone.now()
    slots = list(Slot.objects.select_related("session__meeting_point").order_by("id"))
    rng = random.Random(args.seed)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE volunteers_volunteer, volunteers_booking, volunteers_frontroomdisclosure CASCADE")
        volunteers = Volunteer.objects.bulk_create([
            Volunteer(phone=dataset.uk_mobile(n), name=f"Volunteer {n}", postcode="S10 1AA", lat=53.38, lng=-1.5,
                      consent_sms=True, phone_verified_at=now) for n in range(args.volunteers)], batch_size=2000)
        chosen = [rng.choice(slots) for _ in volunteers]
        bookings = Booking.objects.bulk_create([
            Booking(volunteer=volunteer, slot=slot, status=Booking.Status.CONFIRMED, proven_at=now, held_since=now)
            for volunteer, slot in zip(volunteers, chosen, strict=True)], batch_size=2000)
        FrontRoomDisclosure.objects.bulk_create([
            FrontRoomDisclosure(volunteer=volunteer, meeting_point_id=slot.session.meeting_point_id,
                                first_path="sms.reminder", last_path="sms.reminder", first_shown_at=now,
                                last_shown_at=now) for volunteer, slot in zip(volunteers, chosen, strict=True)],
            batch_size=2000)
    tokens = [booking.manage_token for booking in bookings]
    rng.shuffle(tokens)
    return tokens


def before_checkout(ref: str, root: Path) -> Path:
    """The app as of `ref`, extracted (not checked out: no git state changes), with its static files collected."""
    target = root / "before"
    target.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=dataset.REPO_ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=target, check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return target


def cpu_per_get(cwd: Path, token: str, env: dict) -> list[float]:
    """ms of CPU per GET of a link in `cwd`'s app, in-process: five rounds of 100, sorted."""
    done = subprocess.run([sys.executable, "-c", _CPU_PER_GET, token, PHONE_BROWSER], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"timing {cwd} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def statements(cwd: Path, token: str, env: dict) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _COUNT_STATEMENTS, token, PHONE_BROWSER], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise SystemExit(f"counting the statements in {cwd} failed: {done.stderr[-2000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer
    return [sql for sql in answer["statements"] if "SAVEPOINT" not in sql]


def backend_pids(database: str) -> set[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        return {row[0] for row in cursor.fetchall()}


def cpu_of(pids: set[int]) -> float:
    table = stack.process_table()
    return sum(table[pid][2] for pid in pids if pid in table)


def group_pids(root_pid: int) -> set[int]:
    table = stack.process_table()
    found = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return found


async def open_loop(base: str, tokens: list[str], rate: float, timeout: float) -> list[tuple[float, int | None]]:
    """Each token's page once, Poisson arrivals at `rate`; (latency s, status or None) per request."""
    import aiohttp

    rng = random.Random(len(tokens))
    results: list[tuple[float, int | None]] = []
    connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=1.0)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout),
                                     headers={"User-Agent": PHONE_BROWSER}) as session:
        async def one(token: str, due: float) -> None:
            try:
                async with session.get(f"/b/{token}", allow_redirects=False) as response:
                    await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError, OSError):
                status = None
            results.append((time.monotonic() - due, status))

        tasks = []
        due = time.monotonic()
        for token in tokens:
            due += rng.expovariate(rate)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(token, due)))
        await asyncio.gather(*tasks)
    return results


async def health_closed_loop(base: str, n: int, clients: int = 64) -> float:
    import aiohttp

    async with aiohttp.ClientSession(base) as session:
        left = n

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.get("/health/") as response:
                    await response.read()

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return n / (time.monotonic() - started)


def main(argv=None) -> int:
    args = parse_args(argv)
    dataset.django_setup(database_url=args.database_url, redis_url=os.environ.get("REDIS_URL"))
    database = args.database_url.rsplit("/", 1)[1]
    tokens = data_prepare(args)
    log(f"{len(tokens)} bookings ready")
    env = {**os.environ, "DEBUG": "false", "DATABASE_URL": args.database_url, "LOG_LEVEL": "WARNING",
           "PYTHONDONTWRITEBYTECODE": "1", "DATABASE_CONN_MAX_AGE": "60", "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off: whitenoise's manifest, as in production
    root = Path(tempfile.mkdtemp(prefix="frontroom-surge-"))
    checkouts = {"after": dataset.REPO_ROOT, "before": before_checkout(args.before, root)}
    counted = {name: statements(cwd, tokens[0], env) for name, cwd in checkouts.items()}
    for name, sql in counted.items():
        log(f"{name}: {len(sql)} statements per GET of a link")
    timed: dict[str, list[float]] = {name: [] for name in checkouts}
    for _ in range(2):  # interleaved: after, before, after, before
        for name, cwd in checkouts.items():
            timed[name] += cpu_per_get(cwd, tokens[1], env)
    for name, rounds in timed.items():
        log(f"{name}: {reporting.percentile(rounds, 50):.2f} ms of CPU per GET in-process (median of {len(rounds)} rounds)")
    if args.cpu_only:
        print("\n" + reporting.markdown_table(
            ["checkout", "statements per GET", "CPU ms per GET, in-process (median / min of rounds of 100)"],
            [[name, len(counted[name]), f"{reporting.percentile(timed[name], 50):.2f} / {min(timed[name]):.2f}"]
             for name in checkouts]))
        shutil.rmtree(root, ignore_errors=True)
        return 0
    rate = args.volunteers / args.seconds
    halves = [tokens[: len(tokens) // 2], tokens[len(tokens) // 2:]]
    results: dict[str, dict] = {name: {"hits": [], "gunicorn_s": 0.0, "postgres_s": 0.0} for name in checkouts}
    with ExitStack() as servers:
        bases = {name: servers.enter_context(stack.gunicorn_running(
            workers=args.workers, worker_class="gthread", threads=args.threads, env=env, cwd=cwd))
            for name, cwd in checkouts.items()}
        roots = {name: next(pid for pid, (_, command, _) in stack.process_table().items()
                            if "gunicorn" in command and base.rsplit(":", 1)[1] in command
                            and "--bind" in command and group_pids(pid) != {pid})
                 for name, base in bases.items()}
        health = asyncio.run(health_closed_loop(bases["after"], args.health_requests))
        log(f"/health/ closed loop: {health:.0f} req/s")
        for half_number, half in enumerate(halves, 1):
            for name, base in bases.items():  # interleaved: after, before, after, before
                asyncio.run(open_loop(base, half[:50], rate, args.timeout))  # warm the connections
                gunicorn_pids = group_pids(roots[name])
                pg_before = {pid: cpu_of({pid}) for pid in backend_pids(database)}
                g_before = cpu_of(gunicorn_pids)
                log(f"half {half_number}, {name}: {len(half)} links at {rate:.0f}/s")
                hits = asyncio.run(open_loop(base, half, rate, args.timeout))
                results[name]["gunicorn_s"] += cpu_of(gunicorn_pids) - g_before
                pg_now = {pid: cpu_of({pid}) for pid in backend_pids(database)}
                results[name]["postgres_s"] += sum(v - pg_before.get(pid, 0.0) for pid, v in pg_now.items())
                results[name]["hits"] += hits
        health_after = asyncio.run(health_closed_loop(bases["after"], args.health_requests))
    shutil.rmtree(root, ignore_errors=True)
    rows = []
    for name in checkouts:
        hits = results[name]["hits"]
        latencies = [latency for latency, _ in hits]
        errors = sum(status != 200 for _, status in hits)
        n = len(hits)
        rows.append([name, len(counted[name]), n, f"{rate:.0f}",
                     *(f"{reporting.percentile(latencies, p) * 1000:.0f}" for p in (50, 95, 99)), errors,
                     f"{results[name]['gunicorn_s'] / n * 1000:.2f}", f"{results[name]['postgres_s'] / n * 1000:.2f}"])
    table = reporting.markdown_table(
        ["checkout", "statements per GET", "links opened", "offered req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
         "gunicorn CPU ms/req", "PostgreSQL CPU ms/req"], rows)
    info = reporting.machine_line(reporting.machine_info())
    print(f"\n{info}\n/health/ closed loop (64 clients), same run: {health:.0f} req/s before, "
          f"{health_after:.0f} req/s after the surges\n\n{table}\n")
    print("CPU per GET in-process (median / min of rounds of 100): " + ", ".join(
        f"{name} {reporting.percentile(rounds, 50):.2f} / {min(rounds):.2f} ms" for name, rounds in timed.items()))
    for name, sql in counted.items():
        print(f"{name}: " + " | ".join(s[:90] for s in sql))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Election-weekend load and faults (issue 14).

Serves the app as production does (gunicorn gthread, 2 workers x 4 threads, DEBUG off) on PostgreSQL and a
redis-server of this script's own, with a real Celery worker (prefork, 8 children) and Celery beat running,
and SMS through the `twilio` SDK to a loopback Twilio (tests/sms/fake_twilio.py, its own process, answering
after --twilio-latency seconds as the real one does). Then drives it with an open-loop asyncio client
(aiohttp): requests are sent on a Poisson schedule whatever the server's answers, so a slow server
cannot slow the client down, and each latency counts from the moment the request was due.

The mix, per user action: 70% searches (half the results page `/find/?postcode=`, half the API
`/api/sessions/?near=`), 20% session pages (`/s/<id>/`), 10% bookings in the volunteer's two steps:
`POST /api/slots/<id>/bookings/` (202 and a texted code), then `POST /api/challenges/<token>/verify/` with
the code read from the SMS outbox in the database (bench/booking.py's proof step). A booking's two steps are
two requests, so one action is 1.1 requests on average; rates below are HTTP requests per second. Postcodes:
--postcodes distinct real GB postcodes (a seat picked uniformly, then a postcode in it, as bench/search.py
does). Bookings go to the slots of --booking-sessions sessions, so slots fill and waitlists (and the
workers' overflow to neighbouring seats) form.

Load mode (the default), in one run:
  1. baseline: `GET /health/` closed-loop with --health-clients clients: the trivial endpoint's ceiling;
  2. steps: the offered rate goes up through --rates, --step-seconds each, until p95 passes --p95-ms or
     any request fails (a status other than the expected one, a connection error, a timeout); the highest
     step that passed is the sustained rate, reported with p50/p95/p99 of every step;
  3. the mix's CPU-accounted ceiling: CPU per request of this run's processes (Linux /proc: the gunicorn,
     Celery, PostgreSQL backends of this database, redis-server, loopback Twilio and this client), so
     cores / CPU per request is the most the machine could serve of this mix;
  4. verification in the database once the outbox has drained: every booking the client saw a 2xx for is
     stored exactly once (and proven when the proof got 200), no slot is over capacity and confirmed_count
     agrees, every text for those volunteers was sent exactly once (the loopback Twilio's log against the
     outbox rows), nothing left unsent.

Faults mode (--faults): the same stack against a PRIVATE PostgreSQL (initdb on a free port under /tmp,
started and stopped by this script; the shared server on 5432 is never touched) and the private Redis.
A short ramp finds the sustained rate on that stack (unless --fault-rate is given), then under steady load
at half of it: PostgreSQL is stopped (immediate, as a crash) and started again after --outage-seconds, the
same for Redis, then a gunicorn worker and a Celery worker child (one that is waiting on Twilio mid-send, if
one can be found) are killed with SIGKILL. For each fault it reports what clients saw before, during and
after (2xx, 503 with and without Retry-After, 500, other statuses, connection errors, latency), waits for
beat's sweeps to send what the outages left behind, and runs the same verification. Bookings' two steps are
retried by the client (up to --retries times) after a 503, a 5xx or a connection error, honouring
Retry-After (at most 5 s), as a person would press the button again; that also tests that a repeated
request holds nothing twice.

Rate limits: on, as in production, but raised (RATE_LIMIT_*=100000000/h for the booking and code scopes,
SMS_RATE_PER_SECOND=0) for this run only, since every request comes from one address; the report says so.

Examples:
  .venv/bin/python bench/load.py --write                       # load mode as recorded (about 6 minutes)
  .venv/bin/python bench/load.py --rates 25,50 --step-seconds 5 --sessions 2000   # a quick try
  .venv/bin/python bench/load.py --faults --write              # faults mode (about 10 minutes)

--write replaces the load or the faults part of "## Election-weekend load and faults (issue 14)" in
BENCHMARKS.md. The exit status is 1 if the verification finds a lost or doubled booking, a slot over
capacity or a text not sent exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common  # noqa: E402
from bench import load_cache  # noqa: E402

SECTION = "Election-weekend load and faults (issue 14)"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_load"
DATABASE_NAME = "frontroom_bench_load"
MIX = (("search_page", 0.35), ("search_api", 0.35), ("session_page", 0.20), ("booking", 0.10))
REQUESTS_PER_ACTION = 1.1  # a booking is two requests
EXPECTED = {"search_page": 200, "search_api": 200, "session_page": 200, "book": 202, "proof": 200, "health": 200}
KINDS = ("search_page", "search_api", "session_page", "book", "proof")
CPU_CATEGORIES = ("gunicorn", "postgres", "redis", "celery", "twilio", "client")
SERVER_CATEGORIES = ("gunicorn", "postgres", "redis", "celery")
RAISED_LIMITS = {f"RATE_LIMIT_{scope.upper()}": "100000000/h" for scope in (
    "booking_ip", "booking_phone", "code_check_ip", "code_check_phone", "code_send_phone", "code_send_ip",
    "sms_phone_day")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="PostgreSQL database for load mode (created and migrated if missing; default "
                             "%(default)s). Faults mode always uses a private server of its own.")
    parser.add_argument("--private-postgres", action="store_true",
                        help="Load mode against a private PostgreSQL too (initdb under /tmp), as faults mode is.")
    parser.add_argument("--seed", type=int, default=2017, help="Random seed (default: %(default)s).")
    parser.add_argument("--write", action="store_true", help="Write the results into BENCHMARKS.md.")
    parser.add_argument("--faults", action="store_true", help="Faults mode (see above).")
    data = parser.add_argument_group("data")
    data.add_argument("--sessions", type=int, default=100_000,
                      help="Published upcoming sessions, 2 slots each (default: %(default)s).")
    data.add_argument("--reuse", action="store_true",
                      help="Keep the sessions already in the database if there are exactly --sessions of them.")
    data.add_argument("--postcodes", type=int, default=5000, help="Distinct postcodes the client uses (default: %(default)s).")
    data.add_argument("--booking-sessions", type=int, default=50,
                      help="Sessions whose slots the bookings go to (default: %(default)s).")
    load = parser.add_argument_group("load")
    load.add_argument("--rates", default="10,25,50,75,100,150,200,300,400,500",
                      help="Offered HTTP requests/s of the steps, in order (default: %(default)s).")
    load.add_argument("--step-seconds", type=float, default=20.0, help="Seconds per step (default: %(default)s).")
    load.add_argument("--p95-ms", type=float, default=200.0, help="The p95 a step must stay under (default: %(default)s).")
    load.add_argument("--health-requests", type=int, default=10_000, help="Requests of the /health/ baseline.")
    load.add_argument("--health-clients", type=int, default=64, help="Concurrent clients of the /health/ baseline.")
    load.add_argument("--page-cache", choices=("on", "off", "both"), default="on",
                      help="The shared page cache: on, off, or both side by side (bench/load_cache.py).")
    load.add_argument("--zipf", type=float, default=0.0,
                      help="Skew the postcodes and session pages asked for (Zipf exponent; 0: uniform, as issue 14).")
    load.add_argument("--timeout", type=float, default=30.0, help="Client timeout per request, s (default: %(default)s).")
    load.add_argument("--retries", type=int, default=3,
                      help="Retries of a booking step after a 503/5xx/connection error (default: %(default)s).")
    stack = parser.add_argument_group("the stack")
    stack.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: %(default)s).")
    stack.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker (default: %(default)s).")
    stack.add_argument("--celery-concurrency", type=int, default=8, help="Celery prefork children (default: %(default)s).")
    stack.add_argument("--twilio-latency", type=float, default=0.1,
                       help="Seconds the loopback Twilio takes to answer a send (default: %(default)s).")
    stack.add_argument("--settle-timeout", type=float, default=None,
                       help="Seconds to wait for the outbox to drain before verifying (default: 120, faults 420).")
    faults = parser.add_argument_group("faults mode")
    faults.add_argument("--fault-rate", type=float, default=None,
                        help="Offered req/s during the faults (default: half the sustained rate of a short ramp).")
    faults.add_argument("--fault-ramp-seconds", type=float, default=8.0, help="Step length of that short ramp.")
    faults.add_argument("--outage-seconds", type=float, default=6.0,
                        help="How long PostgreSQL and Redis stay down (default: %(default)s).")
    faults.add_argument("--window-seconds", type=float, default=12.0,
                        help="Seconds of steady load before and after each fault (default: %(default)s).")
    args = parser.parse_args(argv)
    args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.settle_timeout is None:
        args.settle_timeout = 420.0 if args.faults else 120.0
    return args


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Private servers -----------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of this script's own, initdb'd under `root` on a free port (never the shared one)."""

    def __init__(self, root: Path):
        self.dir = root / "pgdata"
        self.run_dir = root / "pgrun"
        self.port = common.free_port()
        self.log_path = self.run_dir / "postgres.log"
        self.as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    def _cmd(self, *command: str) -> list[str]:
        binary = shutil.which(command[0]) or command[0]
        return (["runuser", "-u", "postgres", "--", binary, *command[1:]] if self.as_postgres
                else [binary, *command[1:]])

    def init(self) -> None:
        for directory in (self.run_dir, self.dir):
            directory.mkdir(parents=True, mode=0o700)
            if self.as_postgres:
                shutil.chown(directory, "postgres", "postgres")
        subprocess.run(self._cmd("initdb", "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                 "--no-sync"), check=True, stdout=subprocess.DEVNULL)
        with open(self.dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.run_dir}'\nmax_connections = 200\n")
        self.start()

    def start(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.dir), "-l", str(self.log_path), "-w", "-t", "60", "start"),
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.dir), "-m", mode, "-w", "-t", "60", "stop"),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.dir / "postmaster.pid").read_text().split()[0])
        return None

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class PrivateRedis:
    """A redis-server of this script's own on a free port, with append-only persistence (fsync every second) as
    docker-compose.yml runs it; stop() is SIGKILL, a crash, so what the last second wrote may be lost."""

    def __init__(self, root: Path):
        self.port = common.free_port()
        self.root = root
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "everysec",
             "--dir", str(self.root), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(100):
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


# --- CPU of this run's processes -----------------------------------------------------------------


class CpuAccount:
    """CPU seconds by category of the processes this run started (each root pid and its descendants), the
    PostgreSQL backends of this run's database on a shared server, and this client; not the rest of the
    machine, which other work shares."""

    def __init__(self, database_name: str):
        self.roots: dict[int, str] = {}
        self.database_name = database_name
        self.me = os.getpid()

    def sample(self) -> dict[int, tuple[str, float]]:
        table = common.process_table()
        found = {}
        for pid, (_ppid, command, cpu) in table.items():
            category = None
            if pid == self.me:
                category = "client"
            else:
                walker, depth = pid, 0
                while walker in table and depth < 12:
                    if walker in self.roots:
                        category = self.roots[walker]
                        break
                    walker, depth = table[walker][0], depth + 1
                if category is None and command.startswith("postgres: ") and f" {self.database_name} " in command:
                    category = "postgres"
            if category:
                found[pid] = (category, cpu)
        return found

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        split = dict.fromkeys(CPU_CATEGORIES, 0.0)
        for pid, (category, cpu) in after.items():
            earlier = before.get(pid)
            split[category] = split.get(category, 0.0) + cpu - (earlier[1] if earlier else 0.0)
        return split


# --- The loopback Twilio, in a process of its own ------------------------------------------------


def _fake_serve(spec: str, delay: float, control) -> None:
    """Child process: the loopback Twilio, which also says which client ports have a send in flight."""
    sys.path.insert(0, str(common.REPO_ROOT))
    from tests.sms import fake_twilio

    peer = threading.local()
    in_flight: set[int] = set()

    class Connection(fake_twilio._Connection):
        def handle(self):
            peer.port = self.client_address[1]
            super().handle()

    class Fake(fake_twilio.FakeTwilio):
        def _create(self, *args, **kwargs):
            in_flight.add(peer.port)
            try:
                return super()._create(*args, **kwargs)
            finally:
                in_flight.discard(peer.port)

    fake = Fake(spec=Path(spec), delay=delay)
    fake.server.RequestHandlerClass = Connection
    fake.start()
    control.send(fake.url)
    while True:
        command = control.recv()
        if command == "messages":
            control.send([{k: m[k] for k in ("sid", "to", "body")} for m in list(fake.messages)])
        elif command == "violations":
            control.send(list(fake.contract_violations))
        elif command == "in_flight":
            control.send(sorted(in_flight))
        else:
            fake.stop()
            control.send(None)
            return


class FakeTwilioProcess:
    def __init__(self, spec: Path, delay: float):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._lock = threading.Lock()
        self.process = context.Process(target=_fake_serve, args=(str(spec), delay, child), daemon=True)
        self.process.start()
        self.url = self._control.recv()

    def ask(self, command: str):
        with self._lock:
            self._control.send(command)
            return self._control.recv()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def _pid_with_local_port(pids: list[int], ports: list[int]) -> int | None:
    """The first of `pids` holding a TCP socket whose local port is one of `ports` (/proc/net/tcp + fds)."""
    inodes = set()
    wanted = {f"{port:04X}" for port in ports}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[1].rsplit(":", 1)[1] in wanted:
                    inodes.add(parts[9])
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
    return None


# --- The stack -----------------------------------------------------------------------------------


class Stack:
    """gunicorn, a Celery worker and beat, the loopback Twilio; started and stopped together."""

    def __init__(self, args, root: Path, env: dict, cpu: CpuAccount):
        self.args, self.root, self.env, self.cpu = args, root, env, cpu
        self.processes: list[subprocess.Popen] = []
        self.restarts: list[str] = []
        self.gunicorn = None
        self.base = ""

    def _spawn(self, command: list[str], category: str, log_name: str) -> subprocess.Popen:
        log_file = open(self.root / log_name, "ab")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(command, cwd=common.REPO_ROOT, env=self.env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        self.cpu.roots[process.pid] = category
        return process

    def start(self) -> str:
        celery = str(Path(sys.executable).with_name("celery"))
        port = common.free_port()
        self.commands = {
            "worker": ([celery, "-A", "celery_app", "worker", "-P", "prefork", "-c", str(self.args.celery_concurrency),
                        "-l", "WARNING", "--without-gossip", "--without-mingle", "-n", f"load{os.getpid()}@%h"],
                       "celery", "celery-worker.log"),
            "beat": ([celery, "-A", "celery_app", "beat", "-l", "WARNING", "--schedule",
                      str(self.root / "celerybeat-schedule")], "celery", "celery-beat.log"),
            "gunicorn": ([str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application", "--bind",
                          f"127.0.0.1:{port}", "--workers", str(self.args.workers), "--worker-class", "gthread",
                          "--threads", str(self.args.threads), "--backlog", "2048", "--log-level", "warning",
                          "--timeout", "30"], "gunicorn", "gunicorn.log"),
        }
        for name, (command, category, log_name) in self.commands.items():
            setattr(self, name, self._spawn(command, category, log_name))
        self.base = f"http://127.0.0.1:{port}"
        self.wait_healthy(60)
        return self.base

    def wait_healthy(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.root / 'gunicorn.log'}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/health/", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /health/")

    def restart_exited(self) -> list[str]:
        """Start again whichever of gunicorn, the worker and beat has exited; say what was restarted."""
        notes = []
        for name in ("worker", "beat", "gunicorn"):
            process = getattr(self, name)
            if process.poll() is not None:
                command, category, log_name = self.commands[name]
                setattr(self, name, self._spawn(command, category, log_name))
                self.restarts.append(name)
                notes.append(f"the Celery {name} had exited (status {process.returncode}) and was started again"
                             if name != "gunicorn" else
                             f"gunicorn had exited (status {process.returncode}) and was started again")
        return notes

    def children(self, process: subprocess.Popen) -> list[int]:
        return [pid for pid, (ppid, _, _) in common.process_table().items() if ppid == process.pid]

    def stop(self) -> None:
        for process in reversed(self.processes):
            common.process_group_stop(process, timeout=15)


# --- The client ----------------------------------------------------------------------------------


@dataclass
class Hit:
    kind: str
    tag: str  # the step or phase the action was started in
    due: float  # monotonic time the request was due (open loop: latency counts from here)
    sent: float
    done: float
    status: int | None  # None: connection error or timeout
    error: str = ""
    retry_after: bool = False
    retry_after_s: float = 0.0
    cache: str = ""  # X-Frontroom-Cache: HIT, MISS, STALE, BYPASS (issue 26; bench/load_cache.py)

    @property
    def latency(self) -> float:
        return self.done - self.due

    @property
    def ok(self) -> bool:
        return self.status == EXPECTED[self.kind]


@dataclass
class BookingRecord:
    phone: str
    slot_id: int
    tag: str
    tokens: list[str] = field(default_factory=list)  # challenge tokens from 202 answers
    request_status: list = field(default_factory=list)
    proof_status: list = field(default_factory=list)
    manage_token: str | None = None
    code_missing: bool = False


class Client:
    """The open-loop election-weekend mix."""

    def __init__(self, args, base: str, postcodes: list[str], session_ids: list[int], booking_slots: list[int]):
        self.args, self.base = args, base
        self.postcodes, self.session_ids, self.booking_slots = postcodes, session_ids, booking_slots
        self.rng = random.Random(args.seed + 14)
        self.hits: list[Hit] = []
        self.bookings: list[BookingRecord] = []
        self.next_phone = 0
        self.in_flight = 0
        self.dropped: Counter = Counter()
        self.lag: list[float] = []  # how late the client sent requests (its own overload)
        self.session = None
        self.close_connections = False

    async def __aenter__(self):
        import aiohttp

        # Idle connections are dropped before gunicorn's 2 s keep-alive closes them: otherwise a request can
        # race the server's close and fail with a reset that no server bug caused.
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=1.0)
        self.session = aiohttp.ClientSession(self.base, connector=connector,
                                             timeout=aiohttp.ClientTimeout(total=self.args.timeout))
        return self

    async def __aexit__(self, *exc):
        await self.session.close()

    async def request(self, kind: str, tag: str, due: float, method: str, path: str, body=None) -> tuple[Hit, bytes]:
        import aiohttp

        sent = time.monotonic()
        self.lag.append(sent - due)
        payload = b""
        try:
            async with self.session.request(method, path, json=body, allow_redirects=False) as response:
                payload = await response.read()
                hit = Hit(kind, tag, due, sent, time.monotonic(), response.status,
                          retry_after="Retry-After" in response.headers,
                          cache=response.headers.get("X-Frontroom-Cache", ""))
                with contextlib.suppress(ValueError):
                    hit.retry_after_s = float(response.headers.get("Retry-After", "0"))
                if response.status >= 500 or response.status != EXPECTED[kind]:
                    hit.error = payload[:160].decode(errors="replace")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            hit = Hit(kind, tag, due, sent, time.monotonic(), None, error=type(exc).__name__)
        self.hits.append(hit)
        return hit, payload

    async def action(self, name: str, tag: str, due: float) -> None:
        self.in_flight += 1
        try:
            if name == "search_page":
                postcode = self.rng.choice(self.postcodes).replace(" ", "+")
                await self.request(name, tag, due, "GET", f"/find/?postcode={postcode}")
            elif name == "search_api":
                postcode = self.rng.choice(self.postcodes).replace(" ", "%20")
                await self.request(name, tag, due, "GET", f"/api/sessions/?near={postcode}")
            elif name == "session_page":
                await self.request(name, tag, due, "GET", f"/s/{self.rng.choice(self.session_ids)}/")
            else:
                await self.booking(tag, due)
        finally:
            self.in_flight -= 1

    async def _with_retries(self, kind: str, tag: str, due: float, path: str, body: dict, record: list):
        for attempt in range(self.args.retries + 1):
            hit, payload = await self.request(kind, tag, due, "POST", path, body)
            record.append(hit.status)
            if hit.ok or (hit.status is not None and hit.status < 500):
                return hit, payload
            if attempt == self.args.retries:
                return hit, payload
            await asyncio.sleep(min(5.0, hit.retry_after_s) if hit.retry_after_s > 0 else 1.0)
            due = time.monotonic()
        return hit, payload

    async def booking(self, tag: str, due: float) -> None:
        phone = common.uk_mobile(self.next_phone)
        self.next_phone += 1
        record = BookingRecord(phone=phone, slot_id=self.rng.choice(self.booking_slots), tag=tag)
        self.bookings.append(record)
        body = {"name": f"Volunteer {phone[-6:]}", "phone": phone, "postcode": self.rng.choice(self.postcodes),
                "consent_sms": True}
        hit, payload = await self._with_retries("book", tag, due, f"/api/slots/{record.slot_id}/bookings/", body,
                                                record.request_status)
        if not hit.ok:
            return
        token = json.loads(payload)["challenge"]
        record.tokens.append(token)
        code = await asyncio.to_thread(_texted_code, token, 30.0, self.close_connections)
        if code is None:
            record.code_missing = True
            return
        hit, payload = await self._with_retries("proof", tag, time.monotonic(), f"/api/challenges/{token}/verify/",
                                                {"code": code}, record.proof_status)
        if hit.ok:
            record.manage_token = json.loads(payload).get("manage_token")

    async def open_loop(self, rate: float, seconds: float, tag: str, progress: bool = True,
                        stop: asyncio.Event | None = None) -> float:
        """Start actions on a Poisson schedule at `rate` requests/s for `seconds` (or until `stop` is set); wait
        for them to finish; return the seconds the arrivals lasted."""
        names = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        action_rate = rate / REQUESTS_PER_ACTION
        tasks: set[asyncio.Task] = set()
        started = time.monotonic()
        due = started
        next_report = started + 5
        while True:
            due += self.rng.expovariate(action_rate)
            if due - started >= seconds or (stop is not None and stop.is_set()):
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.in_flight >= 2000:  # the server has stopped answering: count, don't pile up
                self.dropped[tag] += 1
                continue
            task = asyncio.create_task(self.action(self.rng.choices(names, weights)[0], tag, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if progress and time.monotonic() >= next_report:
                next_report += 5
                done = [h for h in self.hits if h.tag == tag]
                late = [h.latency for h in done[-500:]]
                p95 = common.percentile(late, 95) * 1000 if late else 0.0
                log(f"  {tag}: {time.monotonic() - started:4.0f}/{seconds:.0f} s, {len(done)} answered, "
                    f"{self.in_flight} in flight, recent p95 {p95:.0f} ms")
        elapsed = time.monotonic() - started
        if tasks:
            await asyncio.wait(tasks, timeout=self.args.timeout * (self.args.retries + 2) + 40)
        return elapsed


def _texted_code(token: str, patience: float, close: bool = False) -> str | None:
    """The code texted for a challenge, read from the SMS outbox (bench/booking.py's proof step), retried while
    the database is unreachable (as a phone waits for the text)."""
    from django.db import connection

    from bench.booking import texted_codes

    deadline = time.monotonic() + patience
    while True:
        try:
            code = texted_codes([token]).get(token)
            if code:
                return code
        except Exception:  # noqa: BLE001 - the database is down or restarting: wait and ask again
            with contextlib.suppress(Exception):
                connection.close()
        finally:
            if close:  # a thread that is about to end (tests): leave no connection behind
                connection.close()
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)


async def health_closed_loop(base: str, n: int, clients: int) -> tuple[int, float, list[float], Counter]:
    import aiohttp

    statuses: Counter = Counter()
    latencies: list[float] = []
    remaining = iter(range(n))
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=clients)) as session:
        async def one() -> None:
            for _ in remaining:
                started = time.perf_counter()
                try:
                    async with session.get("/health/") as response:
                        await response.read()
                        statuses[response.status] += 1
                except aiohttp.ClientError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return n, elapsed, latencies, statuses


# --- Statistics ----------------------------------------------------------------------------------


def hits_summary(hits: list[Hit]) -> dict:
    latencies = [h.latency for h in hits]
    statuses = Counter(h.status if h.status is not None else h.error for h in hits)
    out = {
        "n": len(hits), "ok": sum(h.ok for h in hits),
        "errors": sum(not h.ok for h in hits), "statuses": statuses,
        "s503_retry_after": sum(h.status == 503 and h.retry_after for h in hits),
        "s503_bare": sum(h.status == 503 and not h.retry_after for h in hits),
        "s500": sum(h.status == 500 for h in hits),
        "s5xx_other": sum(h.status is not None and h.status > 500 and h.status != 503 for h in hits),
        "s4xx": sum(h.status is not None and 400 <= h.status < 500 and not h.ok for h in hits),
        "connection": sum(h.status is None for h in hits),
    }
    if latencies:
        out.update({f"p{p}": common.percentile(latencies, p) * 1000 for p in (50, 95, 99)})
        out["max"] = max(latencies) * 1000
    else:
        out.update(p50=0.0, p95=0.0, p99=0.0, max=0.0)
    return out


def error_samples(hits: list[Hit], limit: int = 3) -> list[str]:
    seen: Counter = Counter()
    samples = []
    for h in hits:
        if h.ok:
            continue
        key = (h.kind, h.status)
        seen[key] += 1
        if seen[key] == 1 and len(samples) < limit:
            samples.append(f"{h.kind} {h.status or h.error}: {h.error[:120]!r}")
    return samples


# --- Data ----------------------------------------------------------------------------------------


def distinct_postcodes(data_dir: Path, count: int, rng: random.Random) -> list[str]:
    """`count` distinct GB postcodes, each a seat picked uniformly then a postcode in it (bench/search.py's way)."""
    by_seat = common.postcodes_by_seat(data_dir)
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
    common.reference_data_load(data_dir, log=log)
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


# --- Verification --------------------------------------------------------------------------------


def outbox_settle(timeout: float) -> tuple[float, int]:
    """Wait until no text is waiting or being sent (beat's sweep re-enqueues what outages lost)."""
    from django.db import connection

    from notify.sms.models import SmsMessage

    started = time.monotonic()
    left = -1
    while time.monotonic() - started < timeout:
        try:
            left = SmsMessage.objects.filter(status__in=["pending", "sending"]).count()
            if left == 0:
                break
        except Exception:  # noqa: BLE001 - a connection broken by a restart: reconnect
            with contextlib.suppress(Exception):
                connection.close()
        time.sleep(2)
    return time.monotonic() - started, left


def verify(client: Client, received: list[dict], violations: list) -> dict:
    """What the database and the loopback Twilio (`received`: its messages' sid, to and body) say about every
    booking the client made."""
    from django.db import connection

    with contextlib.suppress(Exception):
        connection.close()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT v.phone, b.slot_id, b.id, b.status, b.proven_at IS NOT NULL, b.manage_token
            FROM volunteers_booking b JOIN volunteers_volunteer v ON v.id = b.volunteer_id""")
        rows = cursor.fetchall()
        cursor.execute("SELECT phone, count(*) FROM volunteers_volunteer GROUP BY phone HAVING count(*) > 1")
        doubled_volunteers = cursor.fetchall()
        cursor.execute("""
            SELECT count(*) FILTER (WHERE confirmed > capacity), count(*) FILTER (WHERE confirmed <> confirmed_count),
                   count(*) FILTER (WHERE confirmed = capacity), coalesce(sum(confirmed), 0), coalesce(sum(waitlisted), 0)
            FROM (SELECT s.id, s.capacity, s.confirmed_count,
                         count(b.id) FILTER (WHERE b.status = 'confirmed') AS confirmed,
                         count(b.id) FILTER (WHERE b.status = 'waitlisted') AS waitlisted
                  FROM canvass_slot s LEFT JOIN volunteers_booking b ON b.slot_id = s.id
                  WHERE s.confirmed_count > 0 OR b.id IS NOT NULL GROUP BY s.id) per_slot""")
        over, mismatch, full, confirmed, waitlisted = cursor.fetchone()
        cursor.execute('SELECT id, "to", body, status, twilio_sid, skip_reason, kind, attempts FROM sms_smsmessage')
        messages = cursor.fetchall()
    by_key: dict[tuple[str, int], list] = {}
    by_phone: dict[str, list] = {}
    for phone, slot_id, booking_id, status, proven, manage_token in rows:
        by_key.setdefault((phone, slot_id), []).append((booking_id, status, proven))
        by_phone.setdefault(phone, []).append(manage_token)
    seen_2xx = [b for b in client.bookings if b.tokens]
    lost = [b.phone for b in seen_2xx if not by_key.get((b.phone, b.slot_id))]
    doubled = [b.phone for b in seen_2xx if len(by_key.get((b.phone, b.slot_id), [])) > 1]
    proven_seen = [b for b in seen_2xx if b.manage_token]
    proof_lost = [b.phone for b in proven_seen
                  if not any(p for _, _, p in by_key.get((b.phone, b.slot_id), []))
                  or b.manage_token not in by_phone.get(b.phone, [])]
    no_2xx_phones = {b.phone for b in client.bookings if not b.tokens}
    stored_without_2xx = sum(1 for phone, _ in by_key if phone in no_2xx_phones)

    by_sid = Counter(m["sid"] for m in received)
    by_text = Counter((m["to"], m["body"]) for m in received)
    row_sids = {m[4] for m in messages if m[4]}
    statuses = Counter(m[3] for m in messages)
    skipped = Counter(m[5] for m in messages if m[3] == "skipped")
    sms_unsent = sum(1 for m in messages if m[3] in ("pending", "sending", "failed"))
    sms_accepted = [m for m in messages if m[3] in ("queued", "sent", "delivered", "undelivered")]
    sms_lost = sum(1 for m in sms_accepted if by_sid[m[4]] == 0)
    sms_doubled = sum(1 for m in messages if by_text[(m[1], m[2])] > 1)
    sms_unrecorded = sum(1 for m in received if m["sid"] not in row_sids)
    phones_2xx = {b.phone for b in seen_2xx}
    rows_for_2xx = [m for m in messages if m[1] in phones_2xx]
    return {
        "actions": len(client.bookings), "seen_2xx": len(seen_2xx), "proven_seen": len(proven_seen),
        "code_missing": sum(b.code_missing for b in client.bookings),
        "lost": len(lost), "doubled": len(doubled) + len(doubled_volunteers), "proof_lost": len(proof_lost),
        "stored_without_2xx": stored_without_2xx, "bookings_stored": len(rows),
        "retried": sum(len(b.request_status) > 1 or len(b.proof_status) > 1 for b in client.bookings),
        "over_capacity": over, "count_mismatch": mismatch, "full_slots": full, "confirmed": confirmed,
        "waitlisted": waitlisted,
        "sms_rows": len(messages), "sms_rows_for_2xx": len(rows_for_2xx), "sms_statuses": dict(statuses),
        "sms_skipped": dict(skipped), "sms_unsent": sms_unsent, "sms_lost": sms_lost, "sms_doubled": sms_doubled,
        "sms_unrecorded": sms_unrecorded, "sms_received": len(received), "contract_violations": len(violations),
        "kinds": dict(Counter(m[6] for m in messages)),
        # More than one claim: a send that died (or failed) half-way and was taken over, Twilio asked first.
        "sms_taken_over": sum(1 for m in messages if m[7] > 1),
        "examples": {"lost": lost[:3], "doubled": doubled[:3], "proof_lost": proof_lost[:3]},
    }


def verification_problems(v: dict) -> list[str]:
    problems = []
    for key, what in (("lost", "bookings lost"), ("doubled", "bookings doubled"), ("proof_lost", "proofs lost"),
                      ("over_capacity", "slots over capacity"), ("count_mismatch", "slots whose confirmed_count is wrong"),
                      ("sms_unsent", "texts not sent"), ("sms_lost", "texts recorded as sent that Twilio never got"),
                      ("sms_doubled", "texts sent twice"), ("sms_unrecorded", "texts Twilio got that no row records"),
                      ("contract_violations", "requests breaking Twilio's spec")):
        if v[key]:
            problems.append(f"{v[key]} {what}")
    return problems


def verification_lines(v: dict) -> list[str]:
    problems = verification_problems(v)
    return [
        f"- Bookings: {v['actions']:,} booking actions, {v['seen_2xx']:,} answered 202 (of them {v['proven_seen']:,} "
        f"proven with 200), {v['bookings_stored']:,} booking rows stored; lost **{v['lost']}**, doubled "
        f"**{v['doubled']}**, proofs lost {v['proof_lost']}; stored although the client saw no 2xx (answer lost "
        f"on the way): {v['stored_without_2xx']}; booking actions that needed a retry: {v['retried']}; code never "
        f"found in the outbox: {v['code_missing']}.",
        f"- Slots: over capacity **{v['over_capacity']}**, confirmed_count disagreeing with the bookings "
        f"{v['count_mismatch']}; {v['confirmed']:,} confirmed and {v['waitlisted']:,} waitlisted, {v['full_slots']} "
        "slots full.",
        f"- Texts: {v['sms_rows']:,} outbox rows ({', '.join(f'{k} {n}' for k, n in sorted(v['kinds'].items()))}), "
        f"{v['sms_rows_for_2xx']:,} of them to volunteers who saw a 2xx; statuses "
        f"{', '.join(f'{k} {n}' for k, n in sorted(v['sms_statuses'].items()))}"
        + (f" (skipped: {', '.join(f'{k} {n}' for k, n in sorted(v['sms_skipped'].items()))})" if v["sms_skipped"] else "")
        + f"; the loopback Twilio received {v['sms_received']:,}: not sent **{v['sms_unsent']}**, sent twice "
        f"**{v['sms_doubled']}**, recorded but never received {v['sms_lost']}, received but not recorded "
        f"{v['sms_unrecorded']}, requests breaking Twilio's spec {v['contract_violations']}; rows that took more than "
        f"one attempt (a send taken over after its worker died, or retried): {v['sms_taken_over']}.",
        "- Verdict: " + ("every booking seen is stored exactly once, no slot over capacity, every text sent exactly "
                         "once." if not problems else "**" + "; ".join(problems) + "**."),
    ]


# --- Runs ----------------------------------------------------------------------------------------


def cpu_ms(split: dict[str, float], n: int) -> dict[str, float]:
    return {k: v * 1000 / max(1, n) for k, v in split.items()}


def cpu_text(ms: dict[str, float]) -> str:
    return " / ".join(f"{ms.get(c, 0.0):.2f}" for c in CPU_CATEGORIES)


async def ramp(client: Client, rates: list[float], seconds: float, p95_ms: float, cpu: CpuAccount,
               tag_prefix: str = "step") -> list[dict]:
    steps = []
    for number, rate in enumerate(rates, 1):
        tag = f"{tag_prefix} {number}"
        log(f"{tag}/{len(rates)}: offering {rate:g} req/s for {seconds:g} s")
        before = cpu.sample()
        elapsed = await client.open_loop(rate, seconds, tag)
        split = CpuAccount.delta(before, cpu.sample())
        hits = [h for h in client.hits if h.tag == tag]
        summary = hits_summary(hits)
        summary.update(rate=rate, tag=tag, achieved=len(hits) / elapsed, seconds=elapsed, dropped=client.dropped[tag],
                       cpu_ms=cpu_ms(split, len(hits)),
                       kinds={k: hits_summary([h for h in hits if h.kind == k]) for k in KINDS},
                       samples=error_samples(hits))
        failed = summary["errors"] + summary["dropped"]
        summary["passed"] = summary["p95"] <= p95_ms and failed == 0 and summary["achieved"] >= 0.9 * rate
        steps.append(summary)
        log(f"{tag}: {summary['achieved']:.0f} req/s answered, p50 {summary['p50']:.0f} / p95 {summary['p95']:.0f} / "
            f"p99 {summary['p99']:.0f} ms, errors {summary['errors']} (dropped {summary['dropped']}), CPU ms/request "
            f"{cpu_text(summary['cpu_ms'])} -> {'passed' if summary['passed'] else 'FAILED'}"
            + (f"; e.g. {summary['samples']}" if summary["samples"] else ""))
        if not summary["passed"]:
            break
    return steps


def health_run(base: str, args, cpu: CpuAccount) -> dict:
    asyncio.run(health_closed_loop(base, min(1000, args.health_requests), args.health_clients))  # warm-up
    before = cpu.sample()
    n, elapsed, latencies, statuses = asyncio.run(health_closed_loop(base, args.health_requests, args.health_clients))
    split = CpuAccount.delta(before, cpu.sample())
    result = {"n": n, "rate": n / elapsed, "statuses": dict(statuses), "cpu_ms": cpu_ms(split, n),
              **{f"p{p}": common.percentile(latencies, p) * 1000 for p in (50, 95, 99)}}
    log(f"/health/ closed loop, {args.health_clients} clients: {result['rate']:.0f} req/s, p95 {result['p95']:.1f} ms, "
        f"statuses {result['statuses']}, CPU ms/request {cpu_text(result['cpu_ms'])}")
    return result


@dataclass
class Episode:
    name: str
    started: float
    back: float  # when the part was serving again (a kill: the moment of the kill)
    note: str = ""


async def faults_run(client: Client, stack: Stack, pg: PrivatePostgres, redis_server: PrivateRedis,
                     fake: FakeTwilioProcess, rate: float, args) -> list[Episode]:
    """Steady load at `rate` while the faults happen one after another, `--window-seconds` apart."""
    episodes: list[Episode] = []
    window = args.window_seconds
    stop = asyncio.Event()
    t0 = time.monotonic()

    async def supervise() -> None:
        # What docker-compose's `restart: unless-stopped` does for the app, worker and beat containers.
        while not stop.is_set():
            for note in await asyncio.to_thread(stack.restart_exited):
                log(f"supervisor: {note}")
                if episodes:
                    episodes[-1].note += ("; " if episodes[-1].note else "") + note
            await asyncio.sleep(0.5)

    async def timeline() -> None:
        await asyncio.sleep(window)
        for name in ("PostgreSQL restart", "Redis restart", "gunicorn worker SIGKILL", "Celery worker child SIGKILL"):
            started = time.monotonic()
            note = ""
            if name == "PostgreSQL restart":
                await asyncio.to_thread(pg.stop, "immediate")
                await asyncio.sleep(args.outage_seconds)
                await asyncio.to_thread(pg.start)
                stack.cpu.roots[pg.pid()] = "postgres"
            elif name == "Redis restart":
                await asyncio.to_thread(redis_server.stop)
                await asyncio.sleep(args.outage_seconds)
                await asyncio.to_thread(redis_server.start)
                stack.cpu.roots[redis_server.pid()] = "redis"
            elif name == "gunicorn worker SIGKILL":
                workers = stack.children(stack.gunicorn)
                victim = random.Random(args.seed).choice(workers)
                os.kill(victim, signal.SIGKILL)
                note = f"worker {victim} of {len(workers)} killed"
            else:
                children = stack.children(stack.worker)
                victim = None
                deadline = time.monotonic() + 10
                while victim is None and time.monotonic() < deadline and children:  # one waiting on Twilio
                    ports = await asyncio.to_thread(fake.ask, "in_flight")
                    victim = _pid_with_local_port(children, ports) if ports else None
                    if victim is None:
                        await asyncio.sleep(0.02)
                mid_send = victim is not None
                if children:
                    victim = victim or random.Random(args.seed).choice(children)
                    os.kill(victim, signal.SIGKILL)
                    note = f"child {victim} of {len(children)} killed " + (
                        "mid-send (Twilio had the message, its answer never came back)" if mid_send
                        else "(no send in flight found within 10 s: a random child)")
                else:
                    note = "no Celery worker child to kill (the worker is not running)"
            back = time.monotonic()
            episodes.append(Episode(name, started, back, note))
            log(f"fault: {name} at +{started - t0:.0f} s, serving again after {back - started:.1f} s. {note}")
            await asyncio.sleep(window)
        stop.set()

    guard = asyncio.create_task(supervise())
    load = asyncio.create_task(client.open_loop(rate, float("inf"), "faults", progress=True, stop=stop))
    await timeline()
    await load
    await guard
    return episodes


def episode_rows(client: Client, episodes: list[Episode], window: float) -> list[list]:
    hits = [h for h in client.hits if h.tag == "faults"]
    rows = []
    for e in episodes:
        until = e.back + 3.0 if e.back > e.started + 0.5 else e.started + 5.0
        phases = (("before", e.started - window + 2, e.started), ("during", e.started, until),
                  ("after", until, until + window - 5))
        for phase, start, end in phases:
            part = [h for h in hits if start <= h.done < end]  # what clients were answered in the window
            s = hits_summary(part)
            first_ok = min((h.done for h in part if h.ok and h.sent >= e.started), default=None)
            rows.append([e.name if phase == "before" else "", phase, f"{end - start:.0f} s", s["n"], s["ok"],
                         s["s503_retry_after"], s["s503_bare"], s["s500"], s["s5xx_other"], s["s4xx"],
                         s["connection"], f"{s['p50']:.0f} / {s['p95']:.0f} / {s['max']:.0f}",
                         (f"{first_ok - e.started:.1f} s" if phase == "during" and first_ok else "")])
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="frontroom-load-"))
    os.chmod(root, 0o755)
    pg: PrivatePostgres | None = None
    redis_server = PrivateRedis(root)
    stack = fake = None
    try:
        redis_server.start()
        database_url = args.database_url
        if args.faults or args.private_postgres:
            pg = PrivatePostgres(root)
            pg.init()
            database_url = pg.url(DATABASE_NAME)
            log(f"private PostgreSQL on port {pg.port} ({pg.dir}), private Redis on port {redis_server.port}")
        database_name = database_url.rsplit("/", 1)[1]
        os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true"})
        common.django_setup(database_url=database_url, redis_url=redis_server.url())
        data_dir = common.shared_data_dir()
        data = data_prepare(args, data_dir)
        skew_rng = random.Random(args.seed + 26)
        data["postcodes"] = load_cache.skewed(data["postcodes"], args.zipf, skew_rng)
        data["session_ids"] = load_cache.skewed(data["session_ids"], args.zipf, skew_rng)
        info = common.machine_info()
        lscpu = common_lscpu()
        cpu = CpuAccount(database_name)
        if pg:
            cpu.roots[pg.pid()] = "postgres"
        cpu.roots[redis_server.pid()] = "redis"
        fake = FakeTwilioProcess(data_dir / "twilio" / "twilio_api_v2010.json", args.twilio_latency)
        cpu.roots[fake.process.pid] = "twilio"
        env = {**os.environ, "DEBUG": "false", "DATABASE_URL": database_url, "REDIS_URL": redis_server.url(),
               "CELERY_TASK_ALWAYS_EAGER": "false", "RATE_LIMITS_ENABLED": "true", **RAISED_LIMITS,
               "SMS_RATE_PER_SECOND": "0", "TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token",
               "TWILIO_FROM": "+447700900000", "TWILIO_API_URL": fake.url, "LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(common.REPO_ROOT), "DATABASE_CONN_MAX_AGE": "60"}
        env.pop("SMS_BACKEND", None)
        env["PAGE_CACHE_ENABLED"] = "false" if args.page_cache == "off" else "true"
        stack = Stack(args, root, env, cpu)
        base = stack.start()
        log(f"serving {base}: gunicorn gthread {args.workers}x{args.threads}, Celery prefork "
            f"{args.celery_concurrency} + beat, loopback Twilio {fake.url} ({args.twilio_latency:g} s per send); "
            f"logs in {root}")
        health = health_run(base, args, cpu)
        client_steps: list[dict] = []
        episodes: list[Episode] = []
        fault_rate = args.fault_rate

        async def drive() -> Client:
            nonlocal client_steps, episodes, fault_rate
            async with Client(args, base, data["postcodes"], data["session_ids"], data["booking_slots"]) as client:
                await client.open_loop(20, 5, "warm-up", progress=False)
                if not args.faults and args.page_cache == "both":
                    async with Client(args, load_cache.gunicorn_without_cache(stack), data["postcodes"],
                                      data["session_ids"], data["booking_slots"]) as off:
                        off.next_phone = 500_000  # phones of their own: no request repeats the other's
                        await off.open_loop(20, 5, "warm-up off", progress=False)
                        by_mode = await load_cache.ramp_side_by_side({"on": client, "off": off}, args.rate_list,
                                                                     args.step_seconds, args.p95_ms, cpu, ramp)
                    client_steps = by_mode["on"]
                    client.hits += off.hits
                    client.bookings += off.bookings
                    print(load_cache.side_by_side_text(by_mode, health, args.p95_ms))
                elif not args.faults:
                    client_steps = await ramp(client, args.rate_list, args.step_seconds, args.p95_ms, cpu)
                else:
                    if fault_rate is None:
                        client_steps = await ramp(client, args.rate_list, args.fault_ramp_seconds, args.p95_ms, cpu,
                                                  tag_prefix="ramp")
                        passed = [s for s in client_steps if s["passed"]]
                        fault_rate = (passed[-1]["rate"] if passed else args.rate_list[0]) / 2
                    log(f"faults under {fault_rate:g} req/s")
                    episodes[:] = await faults_run(client, stack, pg, redis_server, fake, fault_rate, args)
                return client

        client = asyncio.run(drive())
        failed = Counter((h.tag, h.kind, h.status or h.error) for h in client.hits if not h.ok)
        if failed:
            log("requests not answered as expected, by phase: " + ", ".join(
                f"{tag} {kind} {status} x{n}" for (tag, kind, status), n in sorted(failed.items(), key=str)))
        for note in stack.restart_exited():  # the sweeps need a worker and beat
            log(f"supervisor: {note}")
        log(f"load over; waiting up to {args.settle_timeout:.0f} s for the outbox to drain (beat's sweeps)")
        settled_s, left = outbox_settle(args.settle_timeout)
        log(f"outbox: {left} left after {settled_s:.0f} s")
        v = verify(client, fake.ask("messages"), fake.ask("violations"))
        for line in verification_lines(v):
            log(line)
        text = report(args, info, lscpu, data, health, client_steps, client, episodes, fault_rate, v, settled_s, left)
        print(text)
        if args.write:
            section_part_write("faults" if args.faults else "load", text)
            log(f"wrote the {'faults' if args.faults else 'load'} part of '{SECTION}' in {common.BENCHMARKS_MD}")
        return 0 if not verification_problems(v) else 1
    finally:
        if stack:
            stack.stop()
        if fake:
            fake.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        redis_server.stop()
        if pg:
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True) if not os.environ.get("BENCH_LOAD_KEEP") else None


def common_lscpu() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


# --- Report --------------------------------------------------------------------------------------


def report(args, info, lscpu, data, health, steps, client, episodes, fault_rate, v, settled_s, left) -> str:
    cores = int(info["nproc"])
    health_cpu = sum(health["cpu_ms"].values())
    health_server = sum(health["cpu_ms"][c] for c in SERVER_CATEGORIES)
    passed = [s for s in steps if s["passed"]]
    best = passed[-1] if passed else None
    lines = [
        f"Machine: `lscpu` model name {lscpu}, nproc {cores}, {info['memory']} RAM, `{info['uname']}`; PostgreSQL "
        f"{info['postgresql']}, Python {info['python']}. Date: {info['date']} "
        f"({time.strftime('%H:%M:%S %Z')} at the end). Load average at start: {info['load']} (the machine is shared "
        "with other work).",
        "",
        "Stack: gunicorn gthread "
        f"{args.workers} workers x {args.threads} threads (DEBUG off, `DATABASE_CONN_MAX_AGE` 60), PostgreSQL "
        + ("(a private server of this script's own, initdb'd under /tmp)" if args.faults or args.private_postgres
           else "(the shared server, database `frontroom_bench_load`)")
        + f", a redis-server of the script's own, a Celery worker (prefork, {args.celery_concurrency} children) "
        "and Celery beat, SMS through the `twilio` SDK to the loopback Twilio (its own process, every request "
        f"checked against Twilio's spec, {args.twilio_latency * 1000:.0f} ms per send). All on the same 2 cores "
        f"as the client. Data: {args.sessions:,} published sessions (2 slots each) at real GB postcodes; the "
        f"client searches from {len(data['postcodes']):,} distinct postcodes and books the "
        f"{len(data['booking_slots'])} slots ({data['places']:,} places) of {args.booking_sessions} sessions, so "
        "slots fill, waitlists form and the workers overflow them to neighbouring seats.",
        "",
        "**Rate limits were raised for this run only**: on (`RATE_LIMITS_ENABLED=true`, so every limited request "
        "still pays for its counting in Redis), with the booking and code scopes (`booking_ip`, `booking_phone`, "
        "`code_check_ip`, `code_check_phone`, `code_send_ip`, `code_send_phone`, `sms_phone_day`) at "
        "100000000/h, because every request comes from one address; the SMS send rate limit off "
        "(`SMS_RATE_PER_SECOND=0`).",
        "",
        f"Baseline, closed loop: `GET /health/` from {args.health_clients} keep-alive clients, "
        f"{health['n']:,} requests: **{health['rate']:,.0f} req/s**, p50 {health['p50']:.1f} ms, p95 "
        f"{health['p95']:.1f} ms; CPU per request {health_cpu:.2f} ms (gunicorn / PostgreSQL / Redis / Celery / "
        f"loopback Twilio / client: {cpu_text(health['cpu_ms'])}).",
        "",
    ]
    if steps:
        rows = []
        for s in steps:
            k = s["kinds"]
            rows.append([s["tag"], f"{s['rate']:g}", f"{s['achieved']:.0f}", s["n"],
                         f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f}",
                         " / ".join(f"{k[name]['p95']:.0f}" for name in KINDS),
                         s["errors"] + s["dropped"], f"{sum(s['cpu_ms'].values()):.2f} ({cpu_text(s['cpu_ms'])})",
                         "passed" if s["passed"] else "**stop**: " + (
                             f"p95 > {args.p95_ms:g} ms" if s["p95"] > args.p95_ms else "errors" if s["errors"] or s["dropped"]
                             else "fell behind")])
        lines += [
            "Steps, open loop (Poisson arrivals; latency from the moment each request was due): "
            f"{args.step_seconds if not args.faults else args.fault_ramp_seconds:g} s each.",
            "",
            common.markdown_table(["step", "offered req/s", "answered req/s", "requests", "p50 / p95 / p99 ms",
                                   "p95 ms: results page / API search / session page / book / proof", "errors",
                                   "CPU ms/request: all (gunicorn / PostgreSQL / Redis / Celery / Twilio mock / client)",
                                   ""], rows),
            "",
        ]
        for s in steps:
            if s["samples"]:
                lines.append(f"- {s['tag']} errors, e.g.: " + "; ".join(f"`{x}`" for x in s["samples"]))
    if steps and not args.faults:
        measured = best or steps[0]  # with no step passed, the CPU figures of the lowest one
        mix_cpu = sum(measured["cpu_ms"].values())
        mix_server = sum(measured["cpu_ms"][c] for c in SERVER_CATEGORIES)
        if best:
            ratio = best["achieved"] / health["rate"]
            lines.append(
                f"- Highest sustained rate: **{best['achieved']:.0f} req/s** (offered {best['rate']:g}; p50 "
                f"{best['p50']:.0f}, p95 {best['p95']:.0f}, p99 {best['p99']:.0f} ms; no error) = **{ratio * 100:.1f}%** "
                f"of the /health/ closed-loop maximum ({health['rate']:,.0f} req/s) in the same run; goal at least "
                "20%: " + ("met." if ratio >= 0.20 else "**missed**."))
        else:
            lines.append(f"- **No step passed**: even the lowest offered rate ({steps[0]['rate']:g} req/s) had a p95 "
                         f"of {steps[0]['p95']:.0f} ms or errors, so no rate was sustained (goal: at least 20% of "
                         f"/health/'s {health['rate']:,.0f} req/s): **missed** in this run.")
        lines += [
            f"- CPU-accounted ceiling of the mix: {mix_cpu:.2f} ms of CPU per request over this run's processes at "
            f"{'the sustained step' if best else 'the lowest step'}, so {cores} cores could serve at most "
            f"{cores * 1000 / mix_cpu:.0f} req/s of it ({cores * 1000 / mix_server:.0f} req/s counting only the "
            f"server side, {mix_server:.2f} ms: gunicorn, PostgreSQL, Redis, Celery). The same accounting gives "
            f"/health/ {health_cpu:.2f} ms ({health_server:.2f} ms server side), a ceiling of "
            f"{cores * 1000 / health_cpu:,.0f} req/s. The ratio of the two costs bounds the share of /health/'s rate "
            f"the mix can reach on a saturated machine: {health_cpu / mix_cpu * 100:.1f}% "
            f"({health_server / mix_server * 100:.1f}% server side).",
            f"- The client sent its requests {common.percentile(client.lag, 95) * 1000:.1f} ms late at p95 over the "
            "run (its own load on the same cores), included in the latencies.",
        ]
    elif not args.faults:
        lines.append("- No step ran.")
    if args.faults:
        lines += [
            "",
            f"Faults under steady load at **{fault_rate:g} req/s** ("
            + ("given with `--fault-rate`" if args.fault_rate else "half the sustained rate of the ramp above, on "
               "this private stack") + f"), one after another, {args.window_seconds:g} s apart: PostgreSQL stopped with "
            f"`pg_ctl -m immediate` (a crash) and started again after {args.outage_seconds:g} s; redis-server "
            f"killed with SIGKILL and started again after {args.outage_seconds:g} s on its append-only file (fsync "
            "every second, as docker-compose.yml runs it); a gunicorn "
            "worker killed with SIGKILL (the master starts another); a Celery prefork child killed with SIGKILL, one "
            "waiting on Twilio mid-send when one is found. A supervisor in the script starts gunicorn, the worker or "
            "beat again if one exits, as docker-compose's `restart: unless-stopped` would. "
            f"Booking steps are retried up to {args.retries} times after a 5xx or a connection error (after "
            "Retry-After, at most 5 s, else 1 s). Each answer is counted in the window it arrived in; \"during\": from the "
            "fault until 3 s after the part served again (5 s after a kill); latency from the moment each request "
            "was due, so under overload it includes the queue.",
            "",
            common.markdown_table(["fault", "window", "length", "requests", "2xx as expected", "503 + Retry-After",
                                   "503 without", "500", "other 5xx", "4xx", "connection errors",
                                   "p50 / p95 / max ms", "first success after"],
                                  episode_rows(client, episodes, args.window_seconds)),
            "",
        ]
        lines += [f"- {e.name}: {e.note or f'down for {e.back - e.started:.1f} s'}." for e in episodes]
        fault_hits = [h for h in client.hits if h.tag == "faults"]
        lines += ["- Errors seen, e.g.: " + "; ".join(f"`{x}`" for x in error_samples(fault_hits, 6))]
        lines += [f"- After the load the outbox took {settled_s:.0f} s to drain (beat's sweeps), {left} texts still "
                  "waiting at the end."]
    lines += [""] + verification_lines(v)
    command = "python bench/load.py" + (" --faults" if args.faults else "") + (
        f" --rates {args.rates}" if args.rates != parse_args([]).rates else "") + (
        f" --step-seconds {args.step_seconds:g}" if args.step_seconds != 20 else "") + (
        f" --sessions {args.sessions}" if args.sessions != 100_000 else "") + (" --reuse" if args.reuse else "")
    return "\n".join([f"Run: `{command}`", ""] + lines)


def section_part_write(part: str, text: str) -> None:
    """Keep the load and the faults results side by side in one section: replace only this part, between its
    markers, so notes written beside the parts (other subsections, earlier runs) stay as they are."""
    path = common.BENCHMARKS_MD
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    match = re.search(rf"^## {re.escape(SECTION)}[ \t]*\n(.*?)(?=^## |\Z)", current, re.S | re.M)
    body = match.group(1) if match else ""
    marked = re.compile(rf"<!-- {part} -->\n.*?<!-- /{part} -->", re.S)
    replacement = f"<!-- {part} -->\n{text.strip()}\n<!-- /{part} -->"
    if marked.search(body):
        new_body = marked.sub(lambda _: replacement, body, count=1)
    else:
        intro = "Scripts: `bench/load.py` (load mode, then `--faults`); see docs/load.md for what they measure."
        new_body = (body.strip() or intro) + f"\n\n### {'Load' if part == 'load' else 'Faults'}\n\n{replacement}"
    common.benchmarks_section_write(SECTION, new_body)


if __name__ == "__main__":
    sys.exit(main())

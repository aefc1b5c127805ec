"""The processes a bench runs and measures: gunicorn, Celery workers, a private redis-server and PostgreSQL cluster,
the loopback Twilio and other loopback servers in processes of their own, and the CPU each of them spends.

Every bench starts its stack through this module (and nothing from tests/), so each server is started one way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.dataset import REPO_ROOT


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


# --- Private servers -----------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of the bench's own, initdb'd under `root` on a free port (never the shared one), for a
    bench that stops and starts its database."""

    def __init__(self, root: Path):
        self.dir = root / "pgdata"
        self.run_dir = root / "pgrun"
        self.port = free_port()
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
    """A redis-server of the bench's own on a free loopback port, so its CPU is this run's alone. With `root`, it
    persists as docker-compose.yml runs it (append-only, fsync every second); stop() is SIGKILL, a crash, so what
    the last second wrote may be lost. Also a context manager: started on entry, stopped on exit."""

    def __init__(self, root: Path | None = None):
        self.port = free_port()
        self.root = root
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        persistence = (["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.root)] if self.root
                       else ["--appendonly", "no"])
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
             "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(200):
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return self
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

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class CpuAccount:
    """CPU seconds by category of the processes this run started (each root pid and its descendants), the
    PostgreSQL backends of this run's database on a shared server, and this client; not the rest of the
    machine, which other work shares."""

    def __init__(self, database_name: str, categories: tuple[str, ...]):
        self.roots: dict[int, str] = {}
        self.database_name = database_name
        self.categories = categories
        self.me = os.getpid()

    def sample(self) -> dict[int, tuple[str, float]]:
        table = process_table()
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

    def delta(self, before: dict, after: dict) -> dict[str, float]:
        split = dict.fromkeys(self.categories, 0.0)
        for pid, (category, cpu) in after.items():
            earlier = before.get(pid)
            split[category] = split.get(category, 0.0) + cpu - (earlier[1] if earlier else 0.0)
        return split


# --- The loopback Twilio, in a process of its own ------------------------------------------------


def _fake_twilio_serve(spec: str, delay: float, control) -> None:
    """Child process: the loopback Twilio (tools/fake_twilio.py, every request checked against Twilio's OpenAPI
    spec), which also says which client ports have a send in flight."""
    sys.path.insert(0, str(REPO_ROOT))
    from tools import fake_twilio

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
        if command == "count":
            control.send(len(fake.messages))
        elif command == "messages":
            control.send([{k: m[k] for k in ("sid", "to", "body", "received_at")} for m in list(fake.messages)])
        elif command == "violations":
            control.send(list(fake.contract_violations))
        elif command == "in_flight":
            control.send(sorted(in_flight))
        elif command == "clear":
            fake.messages.clear()
            control.send(None)
        else:
            fake.stop()
            control.send(None)
            return


class FakeTwilioProcess(ChildServer):
    """The loopback Twilio in a process of its own; `url` is what TWILIO_API_URL points at. ask("count" |
    "messages" | "violations" | "in_flight" | "clear")."""

    def __init__(self, spec: Path, delay: float = 0.0):
        self._lock = threading.Lock()
        super().__init__(_fake_twilio_serve, str(spec), delay)
        self.url = self.greeting

    def ask(self, command: str):
        with self._lock:
            return super().ask(command)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()

    def env(self) -> dict[str, str]:
        """The app's settings for this Twilio (the SDK, pointed at the loopback)."""
        return {"TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token",
                "TWILIO_FROM": "+447700900000", "TWILIO_API_URL": self.url}


def stack_teardown(*, root: Path, redis_server: PrivateRedis, servers=None, fake: FakeTwilioProcess | None = None,
                   pg: PrivatePostgres | None = None, keep: bool = False) -> None:
    """Stop what a mix run started (bench.load, bench/soak.py), last started first: gunicorn, Celery and beat
    (`servers`, a bench.load.processes.Stack), the loopback Twilio, this process's database connections, the
    private Redis and PostgreSQL; then remove the run's folder unless `keep`. Safe on a run that failed halfway."""
    if servers:
        servers.stop()
    if fake:
        fake.stop()
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    redis_server.stop()
    if pg:
        pg.stop("immediate")
    if not keep:
        shutil.rmtree(root, ignore_errors=True)

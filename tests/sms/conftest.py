"""Fixtures for the SMS tests: Prism serving Twilio's official spec, a loopback fake for error paths,
and helpers that run real Celery worker processes and a private Redis server."""

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager, suppress
from datetime import time as clock_time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.conftest import REPO_ROOT, SHARED_DATA
from tests.waiting import wait_until
from tools.fake_twilio import FakeTwilio

PRISM = REPO_ROOT / "tools" / "prism" / "node_modules" / ".bin" / "prism"
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SENDER = "+447700900000"
TWILIO_SPEC = SHARED_DATA / "twilio" / "twilio_api_v2010.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, what: str, timeout: float = 60.0,
                   log: Path | None = None) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode} before listening on {port}{_log_tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def load() -> str:
        return "load average " + ", ".join(f"{n:.1f}" for n in os.getloadavg()) + _log_tail(log)

    wait_until(listening, timeout=timeout, interval=0.1, message=f"{what} to listen on {port}", detail=load)


def _log_tail(log: Path | None, lines: int = 20) -> str:
    if log is None or not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; the last lines of {log}:\n" + "\n".join(tail) if tail else f"; {log} is empty"


# Prism parses Twilio's 1.9 MB spec before it listens: 9 s at a load average of 6 on the 2-core test machine
# (2026-12-02), and the 60 s it used to get ran out on a busier one. Waiting long costs nothing when it is quick;
# it still fails (never skips) if Prism dies or never listens, with the load and its log in the message.
PRISM_STARTUP_TIMEOUT = float(os.environ.get("PRISM_STARTUP_TIMEOUT", "240"))


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory):
    """Prism mocking Twilio's official API spec (the same file the `shared_data` fixture points at)."""
    spec = TWILIO_SPEC
    if not PRISM.exists():
        pytest.fail(f"Prism is not installed at {PRISM}; run `make tools`.")
    if not spec.exists():
        pytest.fail(f"Twilio's spec is missing at {spec}.")
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(PRISM), "mock", "-p", str(port), "-h", "127.0.0.1", str(spec)],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(port, process, "Prism (the Twilio contract mock)", timeout=PRISM_STARTUP_TIMEOUT, log=log)
        yield f"http://127.0.0.1:{port}"
    finally:
        with suppress(ProcessLookupError):  # Prism died already: keep the failure above, not this
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def twilio_configure(settings, api_url: str) -> None:
    settings.SMS_BACKEND = None
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM = SENDER
    settings.TWILIO_MESSAGING_SERVICE_SID = None
    settings.TWILIO_API_URL = api_url
    settings.TWILIO_TIMEOUT = 2.0
    settings.SMS_RATE_PER_SECOND = 0
    settings.SMS_WEBHOOK_BASE_URL = "https://frontroom.example.org"


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio(spec=TWILIO_SPEC).start()
    yield fake
    fake.stop()
    assert not fake.contract_violations, "requests that break Twilio's contract"


@pytest.fixture
def twilio_fake(settings, fake_twilio):
    """The Twilio backend pointed at the loopback fake."""
    twilio_configure(settings, fake_twilio.url)
    return fake_twilio


@pytest.fixture
def twilio_prism(settings, prism_url):
    """The Twilio backend pointed at Prism (requests validated against Twilio's contract)."""
    twilio_configure(settings, prism_url)
    return prism_url


@pytest.fixture
def never_quiet(settings):
    """No quiet hours (an empty window): texts go when they are claimed, whatever the time the suite runs at."""
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = clock_time(0, 0)


@pytest.fixture
def daytime(never_quiet, locmem_sms):
    """Texts kept in memory and never held for quiet hours; the fixture is the outbox."""
    return locmem_sms


def worker_database_url() -> str:
    db = django_settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A real `celery -A celery_app worker` in its own process group, so kill -9 takes its children too."""

    def __init__(self, *, broker_url: str, api_url: str, log: Path, extra_env: dict | None = None):
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": worker_database_url(), "REDIS_URL": broker_url, "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": SENDER, "TWILIO_API_URL": api_url, "TWILIO_TIMEOUT": "5", "SMS_RATE_PER_SECOND": "0",
            "SMS_SENDING_STALE_SECONDS": "3", "DATABASE_CONN_MAX_AGE": "0", "LOG_LEVEL": "WARNING",
        })
        env.pop("SMS_BACKEND", None)
        env.update(extra_env or {})
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(Path(os.sys.executable).parent / "celery"), "-A", "celery_app", "worker", "-P", "prefork",
                 "-c", "2", "-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "-n", f"smstest{os.getpid()}-{time.monotonic_ns()}@%h"],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture
def worker_factory(tmp_path):
    workers: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(log=tmp_path / "worker.log", **kwargs)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


class RedisServer:
    """A private redis-server: the machine's shared Redis must never be stopped by a test."""

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_listening(self.port, self.process, "redis-server", timeout=20)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


@contextmanager
def broker(url: str):
    """Point this process's Celery producer at `url` (real broker, not eager) for the block."""
    from celery_app import app

    previous = (app.conf.broker_url, app.conf.task_always_eager)

    def reset_pools():
        # Drop our references only: kombu keeps one pool per broker URL, still open for the next user.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = url
    app.conf.task_always_eager = False
    reset_pools()
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        reset_pools()



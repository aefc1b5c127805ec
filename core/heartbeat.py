"""Heartbeats of the Celery worker and beat, kept in Redis, read by /healthz and the containers' healthchecks.

- The worker: a bootstep runs on the worker's own timer (its event loop, so it stops when the worker hangs)
  and writes ``frontroom:heartbeat:worker`` (any worker) and ``frontroom:heartbeat:worker:<nodename>``.
- Beat: its scheduler writes ``frontroom:heartbeat:beat`` as it ticks (settings.CELERY_BEAT_SCHEDULER), so beat
  is seen to be alive even while no worker is consuming what it schedules.

Each key holds the Unix time of the beat and expires after a few intervals. ``python -m core.heartbeat worker``
(or ``beat``) exits non-zero when this container's heartbeat is stale: the healthcheck imports only redis,
not Django, so it costs a few milliseconds.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

import redis
from celery import bootsteps
from celery.beat import PersistentScheduler

from core.env import env_float

logger = logging.getLogger(__name__)

PREFIX = "frontroom:heartbeat:"
TIMEOUT = 0.25  # seconds: a heartbeat or a health check never waits on a dead Redis longer than this


# Read from the environment, not Django's settings: the healthcheck runs without Django.
def interval() -> float:
    return env_float("HEARTBEAT_INTERVAL", 15.0)


def stale_after() -> float:
    """A heartbeat older than this counts as down: three missed beats by default."""
    return env_float("HEARTBEAT_STALE_SECONDS", interval() * 3)


_clients: dict[str, redis.Redis] = {}


def client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                             retry_on_timeout=False, retry=None)
    return _clients[url]


def redis_url() -> str | None:
    return os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or None


def beat(name: str, url: str | None = None) -> bool:
    """Write heartbeat `name` now; False (logged once per failure) when Redis cannot be reached."""
    url = url or redis_url()
    if not url or not url.startswith(("redis://", "rediss://")):
        return False
    try:
        client(url).set(PREFIX + name, f"{time.time():.3f}", ex=max(int(stale_after() * 2), 1))
    except redis.RedisError as exc:
        logger.warning("heartbeat %s not written: %s", name, exc)
        return False
    return True


def ages(names: list[str], url: str) -> dict[str, float | None]:
    """Seconds since each heartbeat, None for one never written (or expired). Raises RedisError."""
    values = client(url).mget([PREFIX + name for name in names])
    now = time.time()
    return {name: (None if value is None else max(0.0, now - float(value))) for name, value in zip(names, values,
                                                                                                   strict=True)}


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Worker bootstep (celery_app adds it): a heartbeat every HEARTBEAT_INTERVAL seconds on the worker's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        names = ["worker", f"worker:{worker.hostname}"]
        self._beat(names)
        self.tref = worker.timer.call_repeatedly(interval(), self._beat, (names,), priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    @staticmethod
    def _beat(names):
        for name in names:
            beat(name)


class BeatScheduler(PersistentScheduler):
    """Celery beat's default scheduler, writing beat's heartbeat at most every HEARTBEAT_INTERVAL seconds."""

    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_heartbeat >= interval():
            self._last_heartbeat = now
            beat("beat", self.app.conf.broker_url)
        delay = super().tick(*args, **kwargs)
        return min(delay, interval())  # wake up in time for the next heartbeat


def main(argv: list[str]) -> int:
    """Healthcheck: ``python -m core.heartbeat worker|beat``; 0 when this node's heartbeat is fresh."""
    if len(argv) != 1 or argv[0] not in ("worker", "beat"):
        print("usage: python -m core.heartbeat worker|beat", file=sys.stderr)
        return 2
    url = redis_url()
    if not url:
        print("REDIS_URL is not set", file=sys.stderr)
        return 1
    name = argv[0] if argv[0] == "beat" else f"worker:celery@{socket.gethostname()}"
    try:
        age = ages([name], url)[name]
    except redis.RedisError as exc:
        print(f"Redis unreachable: {exc}", file=sys.stderr)
        return 1
    if age is None or age > stale_after():
        print(f"{name}: no heartbeat within {stale_after():.0f}s (age {age})", file=sys.stderr)
        return 1
    print(f"{name}: ok ({age:.1f}s ago)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

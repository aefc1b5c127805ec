"""The suite's one way to wait: on state, never on a wall-clock sleep of its own. The timeout only stops a broken
worker or server from hanging the suite; nothing asserts on how long anything took."""

import time
from collections.abc import Callable

import pytest


def wait_until(predicate: Callable[[], object], *, timeout: float = 60.0, interval: float = 0.2,
               message: str = "condition", detail: Callable[[], object] | None = None,
               between: Callable[[], object] | None = None):
    """Poll `predicate` until it returns something true, and return that; fail the test with `message` (and
    `detail()`, read then) if it has not within `timeout` seconds. `between` runs after each false answer (a sweep
    that hands on what was left, say)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out waiting for {message}" + (f": {detail()}" if detail else ""))
        if between is not None:
            between()
        time.sleep(interval)

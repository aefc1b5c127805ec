"""Run test work in real threads that start at the same instant (real concurrency against PostgreSQL)."""

import threading
from collections.abc import Callable

from django.db import connection


def run_together(*works: Callable[[], object], timeout: float = 120) -> list[BaseException]:
    """Start each callable in its own thread behind one barrier, wait for all, and return what they raised.
    Each thread closes its own database connection when it ends."""
    start = threading.Barrier(len(works))
    errors: list[BaseException] = []

    def run(work):
        try:
            start.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors

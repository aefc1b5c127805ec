"""`make test-fast` runs the suite in pytest-xdist processes. Loaded with `-p tests.xdist_redis` (the Makefile),
so before Django reads its settings: process gwN counts in the Redis database N below REDIS_URL's (gw1's is the one
tools/run_tests.py gives its second group), so that no process flushes another's rate-limit counters, caches or
queues. pytest-django gives each process its own test database already (`_gw0`, `_gw1`, ...)."""

import os
from urllib.parse import urlsplit, urlunsplit


def _redis_for(url: str, worker: str) -> str:
    index = int(worker.removeprefix("gw"))
    if index == 0:
        return url
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(db - index) % 16}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _redis_for(os.environ["REDIS_URL"], _worker)

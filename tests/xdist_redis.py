"""`make test-fast` runs the suite in two pytest-xdist processes. Loaded with `-p tests.xdist_redis` (the Makefile),
so before Django reads its settings: the second process counts in the Redis database below REDIS_URL's, the one
tools/run_tests.py gives its second group, so that neither process flushes the other's rate-limit counters, caches
or queues. pytest-django gives each process its own test database already (`_gw0`, `_gw1`)."""

import os
from urllib.parse import urlsplit, urlunsplit


def _redis_for(url: str, worker: str) -> str:
    if worker == "gw0":
        return url
    if worker != "gw1":
        raise RuntimeError(f"make test-fast has two Redis databases, for two processes (-n 2); {worker} has none")
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db - 1 if db > 0 else 1}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _redis_for(os.environ["REDIS_URL"], _worker)

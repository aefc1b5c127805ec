"""gunicorn settings hooks (`gunicorn --config python:config.gunicorn ...`): Prometheus' multiprocess mode.

With PROMETHEUS_MULTIPROC_DIR set each worker writes its counters to files there and /metrics sums them
(core/metrics.py). prometheus_client needs the directory to exist and to start empty (files left by a
previous run would be added to this one's), and each dead worker's pid marked so its live gauges drop out.
"""

import os
from pathlib import Path


def on_starting(server) -> None:
    """In the master, before any worker is forked: make the directory and empty it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

"""Election-weekend load and faults (issue 14): `python -m bench.load --help` (or `python bench/load`).

The package: config (options, constants), mixes (the data the mix draws from), client (the open-loop client),
processes (gunicorn, Celery worker and beat), checks (exactly-once verification), runner (the runs and main) and
report (the markdown and its part of BENCHMARKS.md). The private servers come from bench/stack.py.
"""

from bench.load.checks import outbox_settle, verification_problems, verify
from bench.load.client import Client, error_samples, hits_summary
from bench.load.config import RAISED_LIMITS, parse_args
from bench.load.mixes import data_prepare
from bench.load.runner import main

__all__ = ["RAISED_LIMITS", "Client", "data_prepare", "error_samples", "hits_summary", "main", "outbox_settle",
           "parse_args", "verification_problems", "verify"]

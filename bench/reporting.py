"""What a bench prints: progress on stderr, percentiles, the machine (one writer for every bench), markdown tables,
and the `--write` of its section of BENCHMARKS.md."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.dataset import REPO_ROOT

BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench"

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"

def add_common_args(parser, *, database_url: str = DEFAULT_DATABASE_URL, redis_url: str = DEFAULT_REDIS_URL) -> None:
    """The options every bench script takes; `database_url` and `redis_url` are this script's defaults."""
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", database_url),
                        help="PostgreSQL database for the run; created and migrated if missing "
                             "(default: $BENCH_DATABASE_URL or %(default)s).")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", redis_url),
                        help="Redis used as the Celery broker by the app under test (default: %(default)s).")
    parser.add_argument("--seed", type=int, default=2017, help="Random seed (default: %(default)s).")
    parser.add_argument("--write", action="store_true",
                        help=f"Replace this script's section(s) of {BENCHMARKS_MD.name} with the results.")

def progress_log(script: str) -> Callable[[str], None]:
    """A `log(message)` for a script's progress: "[script] message" on stderr, at once (stdout is the report)."""
    def log(message: str) -> None:
        print(f"[{script}] {message}", file=sys.stderr, flush=True)

    return log

def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]

def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms), "mean": sum(ms) / len(ms)}

def machine_info() -> dict[str, str]:
    from django.db import connection

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    uname = " ".join((platform.system(), platform.release(), platform.machine()))
    return {
        "uname": uname, "nproc": str(len(os.sched_getaffinity(0))), "cpu": cpu, "memory": mem,
        "postgresql": pg, "python": platform.python_version(),
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }

def machine_line(info: dict[str, str]) -> str:
    return (f"Machine: `{info['uname']}`, nproc {info['nproc']} ({info['cpu']}), {info['memory']} RAM; "
            f"PostgreSQL {info['postgresql']}, Python {info['python']}. Date: {info['date']}. "
            f"Load average at start: {info['load']} (the machine is shared with other work).")

def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)

def benchmarks_section_write(heading: str, body: str, *, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the `## heading` section of BENCHMARKS.md, leaving other sections alone."""
    title = f"## {heading}"
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read() or "# Benchmarks\n\nFigures from the scripts in `bench/`; each section says how it was run.\n"
        section = f"{title}\n\n{body.strip()}\n"
        pattern = re.compile(rf"^{re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
        else:
            text = text.rstrip() + "\n\n" + section
        handle.seek(0)
        handle.truncate()
        handle.write(text)

def rounds_median(rounds: list[dict]) -> tuple[list[float], float, dict]:
    """The rounds' ratios (measured rate / no-op rate) sorted, their median, and the round that holds it."""
    ratios = sorted(r["ratio"] for r in rounds)
    middle = sorted(rounds, key=lambda r: r["ratio"])[(len(rounds) - 1) // 2]
    return ratios, statistics.median(ratios), middle

def noop_row(number: int, run: dict, *, columns: int) -> list:
    """Round `number`'s baseline (a noop_run) as a row of the report table, with `columns` more cells, all "-"."""
    return [f"{number}: no-op Celery task (baseline)", f"{run['count']:,}", f"{run['elapsed']:.1f}",
            f"{run['rate']:.0f}", *["-"] * columns]


class Progress:
    """A progress display for long runs, on stderr (stdout is the report): "[name 12:01:02] 3/8 (38%), about
    1:10 left: message". `total` 0 shows no fraction."""

    def __init__(self, name: str, total: int = 0):
        self.name, self.total, self.done = name, total, 0
        self.started = time.monotonic()

    def step(self, message: str = "", *, count: int = 1) -> None:
        self.done += count
        self.log(message, counted=True)

    def log(self, message: str, *, counted: bool = False) -> None:
        head = f"[{self.name} {time.strftime('%H:%M:%S')}]"
        if counted and self.total:
            elapsed = time.monotonic() - self.started
            left = elapsed / self.done * (self.total - self.done) if self.done else 0
            head += f" {self.done}/{self.total} ({self.done / self.total:.0%}), about {int(left) // 60}:{int(left) % 60:02d} left:"
        print(f"{head} {message}", file=sys.stderr, flush=True)

#!/usr/bin/env python
"""Rate-limit overhead per request (issue 11).

Two gunicorn servers (2 workers each) on the same code, database and Redis, one with the limits on
(RATE_LIMITS_ENABLED=true, the scope raised so that nothing is refused) and one with them off, driven in
alternating rounds by concurrent keep-alive clients (aiohttp, one process) with the same request:

  POST /api/volunteers/ with an empty body: the signup_ip throttle counts it (one EVALSHA round trip to
  Redis), then validation answers 400. No database work, so the limiter's cost is as visible as it can be
  on a limited endpoint; a real booking costs several milliseconds of CPU more (bench/booking.py).

The servers and the counters use a redis-server of the script's own (a free loopback port, no persistence),
so the CPU figures are those of this run's processes only: the two gunicorn servers (found by their bind
address in /proc) and that redis-server, not whatever else the shared machine runs. For each round:
requests/s, latency p50/p95, and CPU per request of the servers and of Redis. The overhead is the median
over rounds of (on - off). Before that, in this process: the cost of one ``rate_limit()`` call against the
same Redis, wall and CPU, over --calls calls.

--write replaces "## Rate-limit overhead (issue 11)" in BENCHMARKS.md with the printed block.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

SECTION = "Rate-limit overhead"
PATH = "/api/volunteers/"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser)
    parser.add_argument("--requests", type=int, default=5000, help="Requests per round (default: %(default)s).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds, each one on and one off (default: %(default)s).")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent clients (default: %(default)s).")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per gunicorn worker (default: %(default)s).")
    parser.add_argument("--calls", type=int, default=20000,
                        help="rate_limit() calls for the in-process figure (default: %(default)s).")
    return parser.parse_args(argv)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids_with(text: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if text in Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry))
    return pids


class Meter:
    """CPU seconds of given processes (gunicorn master and workers by bind address; redis-server by pid)."""

    def __init__(self, **groups: list[int]):
        self.groups = groups

    def read(self) -> dict[str, float]:
        totals = {}
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids:
                with contextlib.suppress(OSError):
                    total += _cpu_seconds(pid)
            totals[name] = total
        return totals


def in_process(calls: int, redis_pid: int) -> dict:
    """Wall and CPU of one rate_limit() against Redis, and of the same call with the limits off."""
    from django.conf import settings

    from core.ratelimit import rate_limit

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": f"{calls * 10}/h"}
    result = {}
    for label, enabled in (("on", True), ("off", False)):
        settings.RATE_LIMITS_ENABLED = enabled
        for i in range(min(1000, calls)):  # warm the connection pool
            rate_limit(scope="signup_ip", key=f"warm-{i % 50}")
        redis_before = _cpu_seconds(redis_pid)
        wall, process = time.perf_counter(), time.process_time()
        for i in range(calls):
            rate_limit(scope="signup_ip", key=f"203.0.113.{i % 200}")
        wall, process = time.perf_counter() - wall, time.process_time() - process
        result[label] = {"wall_us": wall * 1e6 / calls, "cpu_us": process * 1e6 / calls,
                         "redis_us": (_cpu_seconds(redis_pid) - redis_before) * 1e6 / calls}
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    log = reporting.progress_log("ratelimit")
    with stack.PrivateRedis() as server:
        redis_url, redis_pid = server.url(), server.pid()
        dataset.django_setup(database_url=args.database_url, redis_url=redis_url)
        from bench.booking import drive

        info = reporting.machine_info()
        calls = in_process(args.calls, redis_pid)
        log(f"in process: on {calls['on']['wall_us']:.0f} us wall, {calls['on']['cpu_us']:.0f} us CPU per call")
        base_env = {"DEBUG": "false", "DATABASE_URL": args.database_url, "REDIS_URL": redis_url,
                    "CELERY_TASK_ALWAYS_EAGER": "false", "RATE_LIMIT_SIGNUP_IP": "1000000000/h"}
        request = ("POST", PATH, {})
        rounds: list[dict] = []
        with stack.gunicorn_running(workers=2, worker_class="gthread", threads=args.threads,
                                     env={**base_env, "RATE_LIMITS_ENABLED": "true"},
                                     log_path=Path("/tmp/bench-ratelimit-on.log")) as on_url, \
             stack.gunicorn_running(workers=2, worker_class="gthread", threads=args.threads,
                                     env={**base_env, "RATE_LIMITS_ENABLED": "false"},
                                     log_path=Path("/tmp/bench-ratelimit-off.log")) as off_url:
            servers = {label: Meter(server=_pids_with(url.removeprefix("http://")), redis=[redis_pid])
                       for label, url in (("on", on_url), ("off", off_url))}
            for url in (on_url, off_url):  # warm-up
                drive(url, min(1000, args.requests), args.clients, lambda i: request)
            for number in range(1, args.rounds + 1):
                for label, url in (("on", on_url), ("off", off_url)) if number % 2 else (("off", off_url), ("on", on_url)):
                    before = servers[label].read()
                    outcome = drive(url, args.requests, args.clients, lambda i: request)
                    after = servers[label].read()
                    if outcome["statuses"] != {400: args.requests}:
                        raise SystemExit(f"unexpected answers with limits {label}: {outcome['statuses']} {outcome['errors']}")
                    outcome["own_cpu_ms"] = {name: (after[name] - before[name]) * 1000 / args.requests for name in after}
                    rounds.append({"round": number, "limits": label, **outcome})
                    log(f"round {number} {label}: {outcome['rate']:.0f}/s, p50 {outcome['latency']['p50']:.2f} ms, "
                        f"server CPU {outcome['own_cpu_ms']['server']:.3f} ms")
    text = report(args, info, calls, rounds)
    print(f"## {SECTION}\n\n{text}")
    if args.write:
        reporting.benchmarks_section_write(SECTION, text)
        log(f"wrote section '{SECTION}' of {reporting.BENCHMARKS_MD}")
    return 0


def _server_cpu(outcome: dict) -> float:
    return outcome["own_cpu_ms"]["server"] + outcome["own_cpu_ms"]["redis"]


def report(args, info: dict, calls: dict, rounds: list[dict]) -> str:
    rows = []
    for r in rounds:
        rows.append([r["round"], r["limits"], f"{r['rate']:,.0f}", f"{r['latency']['p50']:.2f}",
                     f"{r['latency']['p95']:.2f}", f"{r['own_cpu_ms']['server']:.3f}",
                     f"{r['own_cpu_ms']['redis']:.3f}", f"{_server_cpu(r):.3f}"])

    def median(label: str, key) -> float:
        return statistics.median(key(r) for r in rounds if r["limits"] == label)

    wall_on, wall_off = median("on", lambda r: 1000 / r["rate"]), median("off", lambda r: 1000 / r["rate"])
    p50_on, p50_off = median("on", lambda r: r["latency"]["p50"]), median("off", lambda r: r["latency"]["p50"])
    cpu_on, cpu_off = median("on", _server_cpu), median("off", _server_cpu)
    on, off = calls["on"], calls["off"]
    command = (f"`.venv/bin/python bench/ratelimit.py --requests {args.requests} --rounds {args.rounds} "
               f"--clients {args.clients} --threads {args.threads} --calls {args.calls}`")
    lines = [
        f"{command}: two gunicorn servers (gthread, 2 workers × {args.threads} threads) on the same code, "
        f"PostgreSQL and Redis, limits on and off, driven in alternating rounds by {args.clients} keep-alive "
        f"clients with `POST {PATH}` and an empty body, against a redis-server of the script's own (so the CPU figures are this run's processes only, found in /proc): the `signup_ip` throttle counts it (one EVALSHA "
        "round trip to Redis; the scope raised so nothing is refused), validation answers 400, no database work. "
        "That is the cheapest limited request, so the overhead is as large a share as it gets; a booking "
        "costs several ms of CPU more (booking section).",
        "",
        reporting.machine_line(info),
        "",
        reporting.markdown_table(["round", "limits", "requests/s", "p50 ms", "p95 ms", "CPU ms/request: gunicorn",
                               "redis-server", "both"], rows),
        "",
        f"- Overhead per request (median of rounds, on − off): CPU of gunicorn and Redis {1000 * (cpu_on - cpu_off):+.0f} µs "
        f"({cpu_off:.3f} → {cpu_on:.3f} ms), wall at this concurrency {1000 * (wall_on - wall_off):+.0f} µs "
        f"({wall_off:.3f} → {wall_on:.3f} ms per request, i.e. 1/throughput), latency p50 "
        f"{1000 * (p50_on - p50_off):+.0f} µs.",
        f"- One `rate_limit()` call in this process against the same Redis ({args.calls:,} calls): "
        f"{on['wall_us']:.0f} µs wall, {on['cpu_us']:.0f} µs CPU in the Django process, {on['redis_us']:.0f} µs CPU "
        f"in redis-server; with the limits off {off['wall_us']:.1f} µs wall.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

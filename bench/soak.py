"""The one-hour soak (issue 26): the election-weekend mix at a fixed rate, with memory and connections sampled.

The stack is bench/load's (gunicorn gthread, a Celery worker and beat, the loopback Twilio in a process of its
own, a private redis-server; PostgreSQL from --database-url), started with the shared page cache on; the client is
bench/load's open-loop client (Poisson arrivals, loopback only). The mix is offered at --rate requests/s for
--minutes, and every --interval seconds this script records: the RSS of gunicorn's master and workers and of the
Celery worker's processes (/proc), the connections to the database (pg_stat_activity for its name), Redis's
connected_clients and used_memory (INFO), and the p95 and errors of the requests answered in the interval, with
the load average (the machine is shared). It writes the samples as CSV (--csv), prints a markdown table, and
says whether memory and connections are flat: a least-squares line over the samples after --settle minutes,
its rise over that window as a share of the first of them (flat: within --flat-share, and connections within
--flat-connections). Then the bookings are verified as bench/load does (each once, no slot over capacity).

An arrival that finds --max-in-flight actions still waiting is dropped and counted, not sent: on this shared,
loaded machine an open-loop backlog otherwise grows until every request times out and measures nothing.

The loop is bounded: it stops after --minutes, sends only to 127.0.0.1, and every process it starts is stopped.

  .venv/bin/python bench/soak.py --minutes 2 --interval 10        # a try
  .venv/bin/python bench/soak.py --csv /tmp/soak.csv              # the hour, 50 req/s, 30 s samples
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

FIELDS = ("minute", "load1", "answered", "rate", "p50_ms", "p95_ms", "errors", "dropped", "hit_share", "gunicorn_rss_mib",
          "celery_rss_mib", "pg_connections", "redis_clients", "redis_used_mib")
WATCHED = ("gunicorn_rss_mib", "celery_rss_mib", "pg_connections", "redis_clients", "redis_used_mib")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="bench/soak.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL database (created and migrated if missing; default $DATABASE_URL).")
    parser.add_argument("--rate", type=float, default=50.0, help="Offered HTTP requests/s (default: %(default)s).")
    parser.add_argument("--minutes", type=float, default=60.0, help="Length of the soak (default: %(default)s).")
    parser.add_argument("--interval", type=float, default=30.0, help="Seconds between samples (default: %(default)s).")
    parser.add_argument("--settle", type=float, default=15.0,
                        help="Minutes after which the flatness line is fitted (default: %(default)s).")
    parser.add_argument("--flat-share", type=float, default=0.10,
                        help="Largest rise of memory over the fitted window, as a share (default: %(default)s).")
    parser.add_argument("--flat-connections", type=float, default=2.0,
                        help="Largest rise of a connection count over the fitted window (default: %(default)s).")
    parser.add_argument("--csv", default="", help="Write the samples here as CSV.")
    parser.add_argument("--sessions", type=int, default=20_000, help="Published sessions (default: %(default)s).")
    parser.add_argument("--reuse", action="store_true", help="Keep the sessions if there are exactly --sessions.")
    parser.add_argument("--postcodes", type=int, default=5000, help="Distinct postcodes (default: %(default)s).")
    parser.add_argument("--booking-sessions", type=int, default=50, help="Sessions taking bookings.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--celery-concurrency", type=int, default=8)
    parser.add_argument("--twilio-latency", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--max-in-flight", type=int, default=64,
                        help="Actions in flight beyond which an arrival is dropped and counted, not sent: on a shared, "
                             "loaded machine a backlog of requests that all time out measures nothing (default: "
                             "%(default)s).")
    parser.add_argument("--settle-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url or $DATABASE_URL is needed")
    return args


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def descendants(root: int) -> list[int]:
    table = stack.process_table()
    found, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent]
        found += children
        frontier += children
    return found


def pg_connections(database_name: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                       [database_name])
        return cursor.fetchone()[0]


def sample(servers, redis_client, database_name: str, hits: list, started: float, interval: float,
           dropped: int) -> dict:
    latencies = [h.latency for h in hits]
    info = redis_client.info()
    return {
        "minute": round((time.monotonic() - started) / 60, 2),
        "load1": round(os.getloadavg()[0], 2),
        "answered": len(hits),
        "rate": round(len(hits) / interval, 1),
        "p50_ms": round(reporting.percentile(latencies, 50) * 1000, 1) if latencies else 0.0,
        "p95_ms": round(reporting.percentile(latencies, 95) * 1000, 1) if latencies else 0.0,
        "errors": sum(not h.ok for h in hits),
        "dropped": dropped,
        "hit_share": round(sum(h.cache == "HIT" for h in hits) / len(hits), 3) if hits else 0.0,
        "gunicorn_rss_mib": round(rss_mib(descendants(servers.gunicorn.pid)), 1),
        "celery_rss_mib": round(rss_mib(descendants(servers.worker.pid)), 1),
        "pg_connections": pg_connections(database_name),
        "redis_clients": int(info["connected_clients"]),
        "redis_used_mib": round(int(info["used_memory"]) / 2**20, 2),
    }


def slope_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares: (value at the first x, rise over the x range)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points) or 1.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    first, last = points[0][0], points[-1][0]
    return mean_y + slope * (first - mean_x), slope * (last - first)


def flatness(samples: list[dict], args) -> list[dict]:
    window = [s for s in samples if s["minute"] >= args.settle] or samples
    verdicts = []
    for name in WATCHED:
        start, rise = slope_line([(s["minute"], float(s[name])) for s in window])
        is_connections = name in ("pg_connections", "redis_clients")
        flat = abs(rise) <= args.flat_connections if is_connections else abs(rise) <= args.flat_share * max(start, 1e-9)
        verdicts.append({"name": name, "first": samples[0][name], "window_first": window[0][name],
                         "last": samples[-1][name], "min": min(s[name] for s in window),
                         "max": max(s[name] for s in window), "fitted_start": start, "rise": rise, "flat": flat,
                         "window": f"{window[0]['minute']:g}-{window[-1]['minute']:g} min"})
    return verdicts


async def soak(client, servers, redis_client, database_name: str, args) -> list[dict]:
    samples: list[dict] = []
    seconds = args.minutes * 60
    load = asyncio.create_task(client.open_loop(args.rate, seconds, "soak", progress=False))
    started = time.monotonic()
    seen = dropped_before = 0
    next_at = started + args.interval
    while not load.done():
        await asyncio.wait({load}, timeout=max(0.0, next_at - time.monotonic()))
        if load.done():
            break
        upto = len(client.hits)
        hits = [h for h in client.hits[seen:upto] if h.tag == "soak"]
        seen = upto
        dropped = client.dropped["soak"] - dropped_before
        dropped_before += dropped
        row = await asyncio.to_thread(sample, servers, redis_client, database_name, hits, started, args.interval,
                                      dropped)
        samples.append(row)
        log("  ".join(f"{k} {row[k]}" for k in FIELDS))
        next_at += args.interval
    await load
    return samples


def table(samples: list[dict]) -> str:
    header = ("| minute | load avg | answered req/s | p50 ms | p95 ms | errors | dropped | from cache | gunicorn RSS MiB | "
              "Celery RSS MiB | PostgreSQL connections | Redis clients | Redis used MiB |")
    lines = [header, "|" + "---|" * 13]
    for s in samples:
        lines.append(f"| {s['minute']:g} | {s['load1']:.1f} | {s['rate']:.1f} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | "
                     f"{s['errors']} | {s['dropped']} | {s['hit_share']:.0%} | {s['gunicorn_rss_mib']:.1f} | {s['celery_rss_mib']:.1f} | "
                     f"{s['pg_connections']} | {s['redis_clients']} | {s['redis_used_mib']:.2f} |")
    return "\n".join(lines)


_stops: list = []  # what main() started, stopped last first by a SIGTERM or SIGINT


def _interrupted(signum, frame):
    """Stop every process this run started, then exit at once (the client's threads are not waited for)."""
    for stop in reversed(_stops):
        with contextlib.suppress(Exception):
            stop()
    print(f"[soak] stopped by signal {signum}", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupted)
    import redis

    from bench.load import config as load_config
    from bench.load.checks import outbox_settle, verification_lines, verification_problems, verify
    from bench.load.client import Client
    from bench.load.mixes import data_prepare
    from bench.load.processes import Stack

    root = Path(tempfile.mkdtemp(prefix="frontroom-soak-"))
    os.chmod(root, 0o755)
    redis_server = stack.PrivateRedis(root)
    servers = fake = None
    database_name = args.database_url.rsplit("/", 1)[1]
    try:
        redis_server.start()
        _stops.append(redis_server.stop)
        os.environ.update({**load_config.RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true"})
        dataset.django_setup(database_url=args.database_url, redis_url=redis_server.url())
        data_dir = dataset.shared_data_dir()
        data = data_prepare(args, data_dir)
        info = reporting.machine_info()
        cpu = stack.CpuAccount(database_name, load_config.CPU_CATEGORIES)
        fake = stack.FakeTwilioProcess(data_dir / "twilio" / "twilio_api_v2010.json", args.twilio_latency)
        _stops.append(fake.process.kill)
        env = {**os.environ, "DEBUG": "false", "DATABASE_URL": args.database_url, "REDIS_URL": redis_server.url(),
               "CELERY_TASK_ALWAYS_EAGER": "false", "RATE_LIMITS_ENABLED": "true", **load_config.RAISED_LIMITS,
               "SMS_RATE_PER_SECOND": "0", **fake.env(), "LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(dataset.REPO_ROOT), "DATABASE_CONN_MAX_AGE": "60", "PAGE_CACHE_ENABLED": "true"}
        env.pop("SMS_BACKEND", None)
        servers = Stack(args, root, env, cpu)
        _stops.append(lambda: [stack.process_group_stop(p, timeout=5) for p in reversed(servers.processes)])
        base = servers.start()
        redis_client = redis.Redis.from_url(redis_server.url())
        log(f"serving {base}; {args.rate:g} req/s for {args.minutes:g} min, a sample every {args.interval:g} s; "
            f"logs in {root}; load average {os.getloadavg()}")

        async def drive():
            async with Client(args, base, data["postcodes"], data["session_ids"], data["booking_slots"]) as client:
                client.max_in_flight = args.max_in_flight
                await client.open_loop(20, 5, "warm-up", progress=False)
                samples = await soak(client, servers, redis_client, database_name, args)
                return client, samples

        client, samples = asyncio.run(drive())
        log(f"soak over; waiting up to {args.settle_timeout:.0f} s for the outbox to drain")
        _, left = outbox_settle(args.settle_timeout)
        v = verify(client, fake.ask("messages"), fake.ask("violations"))
        if args.csv:
            with open(args.csv, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=FIELDS)
                writer.writeheader()
                writer.writerows(samples)
        verdicts = flatness(samples, args)
        soak_hits = [h for h in client.hits if h.tag == "soak"]
        latencies = [h.latency for h in soak_hits]
        print(f"Machine: {info}")
        print(f"Soak: {args.rate:g} req/s offered for {args.minutes:g} min, gunicorn gthread {args.workers}x"
              f"{args.threads}, page cache on, {args.sessions} sessions, {args.postcodes} postcodes; "
              f"database {database_name}")
        print(f"Whole soak: {len(soak_hits)} answers, p50 {reporting.percentile(latencies, 50) * 1000:.0f} ms, "
              f"p95 {reporting.percentile(latencies, 95) * 1000:.0f} ms, errors {sum(not h.ok for h in soak_hits)}, "
              f"dropped {client.dropped['soak']} (over {args.max_in_flight} in flight), from cache {sum(h.cache == 'HIT' for h in soak_hits) / max(1, len(soak_hits)):.0%}; "
              f"outbox left {left}")
        print()
        print(table(samples))
        print()
        for verdict in verdicts:
            print(f"- {verdict['name']}: first sample {verdict['first']}, {verdict['window']} min {verdict['min']} / "
                  f"max {verdict['max']}, fitted rise {verdict['rise']:+.2f} from {verdict['fitted_start']:.2f} -> "
                  f"{'flat' if verdict['flat'] else 'NOT flat'}")
        for line in verification_lines(v):
            print(line)
        problems = verification_problems(v)
        return 0 if not problems and all(v["flat"] for v in verdicts) else 1
    finally:
        stack.stack_teardown(root=root, redis_server=redis_server, servers=servers, fake=fake)


if __name__ == "__main__":
    sys.exit(main())

"""The runs: the /health/ baseline, the stepped ramp, the faults, and main() (python -m bench.load)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import dataset, load_cache, reporting, stack
from bench.load.checks import outbox_settle, verification_lines, verification_problems, verify
from bench.load.client import Client, Episode, error_samples, health_closed_loop, hits_summary
from bench.load.config import CPU_CATEGORIES, DATABASE_NAME, KINDS, RAISED_LIMITS, SECTION, log, parse_args
from bench.load.mixes import data_prepare
from bench.load.processes import Stack, _pid_with_local_port
from bench.load.report import cpu_ms, cpu_text, report, section_part_write


async def ramp(client: Client, rates: list[float], seconds: float, p95_ms: float, cpu: stack.CpuAccount,
               tag_prefix: str = "step") -> list[dict]:
    steps = []
    for number, rate in enumerate(rates, 1):
        tag = f"{tag_prefix} {number}"
        log(f"{tag}/{len(rates)}: offering {rate:g} req/s for {seconds:g} s")
        before = cpu.sample()
        elapsed = await client.open_loop(rate, seconds, tag)
        split = cpu.delta(before, cpu.sample())
        hits = [h for h in client.hits if h.tag == tag]
        summary = hits_summary(hits)
        summary.update(rate=rate, tag=tag, achieved=len(hits) / elapsed, seconds=elapsed, dropped=client.dropped[tag],
                       cpu_ms=cpu_ms(split, len(hits)),
                       kinds={k: hits_summary([h for h in hits if h.kind == k]) for k in KINDS},
                       samples=error_samples(hits))
        failed = summary["errors"] + summary["dropped"]
        summary["passed"] = summary["p95"] <= p95_ms and failed == 0 and summary["achieved"] >= 0.9 * rate
        steps.append(summary)
        log(f"{tag}: {summary['achieved']:.0f} req/s answered, p50 {summary['p50']:.0f} / p95 {summary['p95']:.0f} / "
            f"p99 {summary['p99']:.0f} ms, errors {summary['errors']} (dropped {summary['dropped']}), CPU ms/request "
            f"{cpu_text(summary['cpu_ms'])} -> {'passed' if summary['passed'] else 'FAILED'}"
            + (f"; e.g. {summary['samples']}" if summary["samples"] else ""))
        if not summary["passed"]:
            break
    return steps

def health_run(base: str, args, cpu: stack.CpuAccount) -> dict:
    asyncio.run(health_closed_loop(base, min(1000, args.health_requests), args.health_clients))  # warm-up
    before = cpu.sample()
    n, elapsed, latencies, statuses = asyncio.run(health_closed_loop(base, args.health_requests, args.health_clients))
    split = cpu.delta(before, cpu.sample())
    result = {"n": n, "rate": n / elapsed, "statuses": dict(statuses), "cpu_ms": cpu_ms(split, n),
              **{f"p{p}": reporting.percentile(latencies, p) * 1000 for p in (50, 95, 99)}}
    log(f"/health/ closed loop, {args.health_clients} clients: {result['rate']:.0f} req/s, p95 {result['p95']:.1f} ms, "
        f"statuses {result['statuses']}, CPU ms/request {cpu_text(result['cpu_ms'])}")
    return result

async def faults_run(client: Client, servers: Stack, pg: stack.PrivatePostgres, redis_server: stack.PrivateRedis,
                     fake: stack.FakeTwilioProcess, rate: float, args) -> list[Episode]:
    """Steady load at `rate` while the faults happen one after another, `--window-seconds` apart."""
    episodes: list[Episode] = []
    window = args.window_seconds
    stop = asyncio.Event()
    t0 = time.monotonic()

    async def supervise() -> None:
        # What docker-compose's `restart: unless-stopped` does for the app, worker and beat containers.
        while not stop.is_set():
            for note in await asyncio.to_thread(servers.restart_exited):
                log(f"supervisor: {note}")
                if episodes:
                    episodes[-1].note += ("; " if episodes[-1].note else "") + note
            await asyncio.sleep(0.5)

    async def timeline() -> None:
        await asyncio.sleep(window)
        for name in ("PostgreSQL restart", "Redis restart", "gunicorn worker SIGKILL", "Celery worker child SIGKILL"):
            started = time.monotonic()
            note = ""
            if name == "PostgreSQL restart":
                await asyncio.to_thread(pg.stop, "immediate")
                await asyncio.sleep(args.outage_seconds)
                await asyncio.to_thread(pg.start)
                servers.cpu.roots[pg.pid()] = "postgres"
            elif name == "Redis restart":
                await asyncio.to_thread(redis_server.stop)
                await asyncio.sleep(args.outage_seconds)
                await asyncio.to_thread(redis_server.start)
                servers.cpu.roots[redis_server.pid()] = "redis"
            elif name == "gunicorn worker SIGKILL":
                workers = servers.children(servers.gunicorn)
                victim = random.Random(args.seed).choice(workers)
                os.kill(victim, signal.SIGKILL)
                note = f"worker {victim} of {len(workers)} killed"
            else:
                children = servers.children(servers.worker)
                victim = None
                deadline = time.monotonic() + 10
                while victim is None and time.monotonic() < deadline and children:  # one waiting on Twilio
                    ports = await asyncio.to_thread(fake.ask, "in_flight")
                    victim = _pid_with_local_port(children, ports) if ports else None
                    if victim is None:
                        await asyncio.sleep(0.02)
                mid_send = victim is not None
                if children:
                    victim = victim or random.Random(args.seed).choice(children)
                    os.kill(victim, signal.SIGKILL)
                    note = f"child {victim} of {len(children)} killed " + (
                        "mid-send (Twilio had the message, its answer never came back)" if mid_send
                        else "(no send in flight found within 10 s: a random child)")
                else:
                    note = "no Celery worker child to kill (the worker is not running)"
            back = time.monotonic()
            episodes.append(Episode(name, started, back, note))
            log(f"fault: {name} at +{started - t0:.0f} s, serving again after {back - started:.1f} s. {note}")
            await asyncio.sleep(window)
        stop.set()

    guard = asyncio.create_task(supervise())
    load = asyncio.create_task(client.open_loop(rate, float("inf"), "faults", progress=True, stop=stop))
    await timeline()
    await load
    await guard
    return episodes

def main(argv=None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="frontroom-load-"))
    os.chmod(root, 0o755)
    pg: stack.PrivatePostgres | None = None
    redis_server = stack.PrivateRedis(root)
    servers = fake = None
    try:
        redis_server.start()
        database_url = args.database_url
        if args.faults or args.private_postgres:
            pg = stack.PrivatePostgres(root)
            pg.init()
            database_url = pg.url(DATABASE_NAME)
            log(f"private PostgreSQL on port {pg.port} ({pg.dir}), private Redis on port {redis_server.port}")
        database_name = database_url.rsplit("/", 1)[1]
        os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true"})
        dataset.django_setup(database_url=database_url, redis_url=redis_server.url())
        data_dir = dataset.shared_data_dir()
        data = data_prepare(args, data_dir)
        skew_rng = random.Random(args.seed + 26)
        data["postcodes"] = load_cache.skewed(data["postcodes"], args.zipf, skew_rng)
        data["session_ids"] = load_cache.skewed(data["session_ids"], args.zipf, skew_rng)
        info = reporting.machine_info()
        cpu = stack.CpuAccount(database_name, CPU_CATEGORIES)
        if pg:
            cpu.roots[pg.pid()] = "postgres"
        cpu.roots[redis_server.pid()] = "redis"
        fake = stack.FakeTwilioProcess(data_dir / "twilio" / "twilio_api_v2010.json", args.twilio_latency)
        cpu.roots[fake.process.pid] = "twilio"
        env = {**os.environ, "DEBUG": "false", "DATABASE_URL": database_url, "REDIS_URL": redis_server.url(),
               "CELERY_TASK_ALWAYS_EAGER": "false", "RATE_LIMITS_ENABLED": "true", **RAISED_LIMITS,
               "SMS_RATE_PER_SECOND": "0", "TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token",
               "TWILIO_FROM": "+447700900000", "TWILIO_API_URL": fake.url, "LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(dataset.REPO_ROOT), "DATABASE_CONN_MAX_AGE": "60"}
        env.pop("SMS_BACKEND", None)
        env["PAGE_CACHE_ENABLED"] = "false" if args.page_cache == "off" else "true"
        servers = Stack(args, root, env, cpu)
        base = servers.start()
        log(f"serving {base}: gunicorn gthread {args.workers}x{args.threads}, Celery prefork "
            f"{args.celery_concurrency} + beat, loopback Twilio {fake.url} ({args.twilio_latency:g} s per send); "
            f"logs in {root}")
        health = health_run(base, args, cpu)
        client_steps: list[dict] = []
        episodes: list[Episode] = []
        fault_rate = args.fault_rate

        async def drive() -> Client:
            nonlocal client_steps, episodes, fault_rate
            async with Client(args, base, data["postcodes"], data["session_ids"], data["booking_slots"]) as client:
                await client.open_loop(20, 5, "warm-up", progress=False)
                if not args.faults and args.page_cache == "both":
                    async with Client(args, load_cache.gunicorn_without_cache(servers), data["postcodes"],
                                      data["session_ids"], data["booking_slots"]) as off:
                        off.next_phone = 500_000  # phones of their own: no request repeats the other's
                        await off.open_loop(20, 5, "warm-up off", progress=False)
                        by_mode = await load_cache.ramp_side_by_side({"on": client, "off": off}, args.rate_list,
                                                                     args.step_seconds, args.p95_ms, cpu, ramp)
                    client_steps = by_mode["on"]
                    client.hits += off.hits
                    client.bookings += off.bookings
                    print(load_cache.side_by_side_text(by_mode, health, args.p95_ms))
                elif not args.faults:
                    client_steps = await ramp(client, args.rate_list, args.step_seconds, args.p95_ms, cpu)
                else:
                    if fault_rate is None:
                        client_steps = await ramp(client, args.rate_list, args.fault_ramp_seconds, args.p95_ms, cpu,
                                                  tag_prefix="ramp")
                        passed = [s for s in client_steps if s["passed"]]
                        fault_rate = (passed[-1]["rate"] if passed else args.rate_list[0]) / 2
                    log(f"faults under {fault_rate:g} req/s")
                    episodes[:] = await faults_run(client, servers, pg, redis_server, fake, fault_rate, args)
                return client

        client = asyncio.run(drive())
        failed = Counter((h.tag, h.kind, h.status or h.error) for h in client.hits if not h.ok)
        if failed:
            log("requests not answered as expected, by phase: " + ", ".join(
                f"{tag} {kind} {status} x{n}" for (tag, kind, status), n in sorted(failed.items(), key=str)))
        for note in servers.restart_exited():  # the sweeps need a worker and beat
            log(f"supervisor: {note}")
        log(f"load over; waiting up to {args.settle_timeout:.0f} s for the outbox to drain (beat's sweeps)")
        settled_s, left = outbox_settle(args.settle_timeout)
        log(f"outbox: {left} left after {settled_s:.0f} s")
        v = verify(client, fake.ask("messages"), fake.ask("violations"))
        for line in verification_lines(v):
            log(line)
        text = report(args, info, data, health, client_steps, client, episodes, fault_rate, v, settled_s, left)
        print(text)
        if args.write:
            section_part_write("faults" if args.faults else "load", text)
            log(f"wrote the {'faults' if args.faults else 'load'} part of '{SECTION}' in {reporting.BENCHMARKS_MD}")
        return 0 if not verification_problems(v) else 1
    finally:
        stack.stack_teardown(root=root, redis_server=redis_server, servers=servers, fake=fake, pg=pg,
                             keep=bool(os.environ.get("BENCH_LOAD_KEEP")))

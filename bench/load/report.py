"""The markdown report of a load or faults run, and its part of BENCHMARKS.md."""

from __future__ import annotations

import re
import time

from bench import reporting
from bench.load.checks import verification_lines
from bench.load.client import Client, Episode, error_samples, hits_summary
from bench.load.config import CPU_CATEGORIES, KINDS, SECTION, SERVER_CATEGORIES, parse_args


def cpu_ms(split: dict[str, float], n: int) -> dict[str, float]:
    return {k: v * 1000 / max(1, n) for k, v in split.items()}

def cpu_text(ms: dict[str, float]) -> str:
    return " / ".join(f"{ms.get(c, 0.0):.2f}" for c in CPU_CATEGORIES)

def episode_rows(client: Client, episodes: list[Episode], window: float) -> list[list]:
    hits = [h for h in client.hits if h.tag == "faults"]
    rows = []
    for e in episodes:
        until = e.back + 3.0 if e.back > e.started + 0.5 else e.started + 5.0
        phases = (("before", e.started - window + 2, e.started), ("during", e.started, until),
                  ("after", until, until + window - 5))
        for phase, start, end in phases:
            part = [h for h in hits if start <= h.done < end]  # what clients were answered in the window
            s = hits_summary(part)
            first_ok = min((h.done for h in part if h.ok and h.sent >= e.started), default=None)
            rows.append([e.name if phase == "before" else "", phase, f"{end - start:.0f} s", s["n"], s["ok"],
                         s["s503_retry_after"], s["s503_bare"], s["s500"], s["s5xx_other"], s["s4xx"],
                         s["connection"], f"{s['p50']:.0f} / {s['p95']:.0f} / {s['max']:.0f}",
                         (f"{first_ok - e.started:.1f} s" if phase == "during" and first_ok else "")])
    return rows

def report(args, info, data, health, steps, client, episodes, fault_rate, v, settled_s, left) -> str:
    cores = int(info["nproc"])
    health_cpu = sum(health["cpu_ms"].values())
    health_server = sum(health["cpu_ms"][c] for c in SERVER_CATEGORIES)
    passed = [s for s in steps if s["passed"]]
    best = passed[-1] if passed else None
    lines = [
        f"{reporting.machine_line(info)} The run ended at {time.strftime('%H:%M:%S %Z')}.",
        "",
        "Stack: gunicorn gthread "
        f"{args.workers} workers x {args.threads} threads (DEBUG off, `DATABASE_CONN_MAX_AGE` 60), PostgreSQL "
        + ("(a private server of this script's own, initdb'd under /tmp)" if args.faults or args.private_postgres
           else f"(the shared server, database `{args.database_url.rsplit('/', 1)[1]}`)")
        + f", a redis-server of the script's own, a Celery worker (prefork, {args.celery_concurrency} children) "
        "and Celery beat, SMS through the `twilio` SDK to the loopback Twilio (its own process, every request "
        f"checked against Twilio's spec, {args.twilio_latency * 1000:.0f} ms per send). All on the same 2 cores "
        f"as the client. Data: {args.sessions:,} published sessions (2 slots each) at real GB postcodes; the "
        f"client searches from {len(data['postcodes']):,} distinct postcodes and books the "
        f"{len(data['booking_slots'])} slots ({data['places']:,} places) of {args.booking_sessions} sessions, so "
        "slots fill, waitlists form and the workers overflow them to neighbouring seats.",
        "",
        "**Rate limits were raised for this run only**: on (`RATE_LIMITS_ENABLED=true`, so every limited request "
        "still pays for its counting in Redis), with the booking and code scopes (`booking_ip`, `booking_phone`, "
        "`code_check_ip`, `code_check_phone`, `code_send_ip`, `code_send_phone`, `sms_phone_day`) at "
        "100000000/h, because every request comes from one address; the SMS send rate limit off "
        "(`SMS_RATE_PER_SECOND=0`).",
        "",
        f"Baseline, closed loop: `GET /health/` from {args.health_clients} keep-alive clients, "
        f"{health['n']:,} requests: **{health['rate']:,.0f} req/s**, p50 {health['p50']:.1f} ms, p95 "
        f"{health['p95']:.1f} ms; CPU per request {health_cpu:.2f} ms (gunicorn / PostgreSQL / Redis / Celery / "
        f"loopback Twilio / client: {cpu_text(health['cpu_ms'])}).",
        "",
    ]
    if steps:
        rows = []
        for s in steps:
            k = s["kinds"]
            rows.append([s["tag"], f"{s['rate']:g}", f"{s['achieved']:.0f}", s["n"],
                         f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f}",
                         " / ".join(f"{k[name]['p95']:.0f}" for name in KINDS),
                         s["errors"] + s["dropped"], f"{sum(s['cpu_ms'].values()):.2f} ({cpu_text(s['cpu_ms'])})",
                         "passed" if s["passed"] else "**stop**: " + (
                             f"p95 > {args.p95_ms:g} ms" if s["p95"] > args.p95_ms else "errors" if s["errors"] or s["dropped"]
                             else "fell behind")])
        lines += [
            "Steps, open loop (Poisson arrivals; latency from the moment each request was due): "
            f"{args.step_seconds if not args.faults else args.fault_ramp_seconds:g} s each.",
            "",
            reporting.markdown_table(["step", "offered req/s", "answered req/s", "requests", "p50 / p95 / p99 ms",
                                   "p95 ms: results page / API search / session page / book / proof", "errors",
                                   "CPU ms/request: all (gunicorn / PostgreSQL / Redis / Celery / Twilio mock / client)",
                                   ""], rows),
            "",
        ]
        for s in steps:
            if s["samples"]:
                lines.append(f"- {s['tag']} errors, e.g.: " + "; ".join(f"`{x}`" for x in s["samples"]))
    if steps and not args.faults:
        measured = best or steps[0]  # with no step passed, the CPU figures of the lowest one
        mix_cpu = sum(measured["cpu_ms"].values())
        mix_server = sum(measured["cpu_ms"][c] for c in SERVER_CATEGORIES)
        if best:
            ratio = best["achieved"] / health["rate"]
            lines.append(
                f"- Highest sustained rate: **{best['achieved']:.0f} req/s** (offered {best['rate']:g}; p50 "
                f"{best['p50']:.0f}, p95 {best['p95']:.0f}, p99 {best['p99']:.0f} ms; no error) = **{ratio * 100:.1f}%** "
                f"of the /health/ closed-loop maximum ({health['rate']:,.0f} req/s) in the same run; goal at least "
                "20%: " + ("met." if ratio >= 0.20 else "**missed**."))
        else:
            lines.append(f"- **No step passed**: even the lowest offered rate ({steps[0]['rate']:g} req/s) had a p95 "
                         f"of {steps[0]['p95']:.0f} ms or errors, so no rate was sustained (goal: at least 20% of "
                         f"/health/'s {health['rate']:,.0f} req/s): **missed** in this run.")
        lines += [
            f"- CPU-accounted ceiling of the mix: {mix_cpu:.2f} ms of CPU per request over this run's processes at "
            f"{'the sustained step' if best else 'the lowest step'}, so {cores} cores could serve at most "
            f"{cores * 1000 / mix_cpu:.0f} req/s of it ({cores * 1000 / mix_server:.0f} req/s counting only the "
            f"server side, {mix_server:.2f} ms: gunicorn, PostgreSQL, Redis, Celery). The same accounting gives "
            f"/health/ {health_cpu:.2f} ms ({health_server:.2f} ms server side), a ceiling of "
            f"{cores * 1000 / health_cpu:,.0f} req/s. The ratio of the two costs bounds the share of /health/'s rate "
            f"the mix can reach on a saturated machine: {health_cpu / mix_cpu * 100:.1f}% "
            f"({health_server / mix_server * 100:.1f}% server side).",
            f"- The client sent its requests {reporting.percentile(client.lag, 95) * 1000:.1f} ms late at p95 over the "
            "run (its own load on the same cores), included in the latencies.",
        ]
    elif not args.faults:
        lines.append("- No step ran.")
    if args.faults:
        lines += [
            "",
            f"Faults under steady load at **{fault_rate:g} req/s** ("
            + ("given with `--fault-rate`" if args.fault_rate else "half the sustained rate of the ramp above, on "
               "this private stack") + f"), one after another, {args.window_seconds:g} s apart: PostgreSQL stopped with "
            f"`pg_ctl -m immediate` (a crash) and started again after {args.outage_seconds:g} s; redis-server "
            f"killed with SIGKILL and started again after {args.outage_seconds:g} s on its append-only file (fsync "
            "every second, as docker-compose.yml runs it); a gunicorn "
            "worker killed with SIGKILL (the master starts another); a Celery prefork child killed with SIGKILL, one "
            "waiting on Twilio mid-send when one is found. A supervisor in the script starts gunicorn, the worker or "
            "beat again if one exits, as docker-compose's `restart: unless-stopped` would. "
            f"Booking steps are retried up to {args.retries} times after a 5xx or a connection error (after "
            "Retry-After, at most 5 s, else 1 s). Each answer is counted in the window it arrived in; \"during\": from the "
            "fault until 3 s after the part served again (5 s after a kill); latency from the moment each request "
            "was due, so under overload it includes the queue.",
            "",
            reporting.markdown_table(["fault", "window", "length", "requests", "2xx as expected", "503 + Retry-After",
                                   "503 without", "500", "other 5xx", "4xx", "connection errors",
                                   "p50 / p95 / max ms", "first success after"],
                                  episode_rows(client, episodes, args.window_seconds)),
            "",
        ]
        lines += [f"- {e.name}: {e.note or f'down for {e.back - e.started:.1f} s'}." for e in episodes]
        fault_hits = [h for h in client.hits if h.tag == "faults"]
        lines += ["- Errors seen, e.g.: " + "; ".join(f"`{x}`" for x in error_samples(fault_hits, 6))]
        lines += [f"- After the load the outbox took {settled_s:.0f} s to drain (beat's sweeps), {left} texts still "
                  "waiting at the end."]
    lines += [""] + verification_lines(v)
    command = "python -m bench.load" + (" --faults" if args.faults else "") + (
        f" --rates {args.rates}" if args.rates != parse_args([]).rates else "") + (
        f" --step-seconds {args.step_seconds:g}" if args.step_seconds != 20 else "") + (
        f" --sessions {args.sessions}" if args.sessions != 100_000 else "") + (" --reuse" if args.reuse else "")
    return "\n".join([f"Run: `{command}`", ""] + lines)

def section_part_write(part: str, text: str) -> None:
    """Keep the load and the faults results side by side in one section: replace only this part, between its
    markers, so notes written beside the parts (other subsections, earlier runs) stay as they are."""
    path = reporting.BENCHMARKS_MD
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    match = re.search(rf"^## {re.escape(SECTION)}[ \t]*\n(.*?)(?=^## |\Z)", current, re.S | re.M)
    body = match.group(1) if match else ""
    marked = re.compile(rf"<!-- {part} -->\n.*?<!-- /{part} -->", re.S)
    replacement = f"<!-- {part} -->\n{text.strip()}\n<!-- /{part} -->"
    if marked.search(body):
        new_body = marked.sub(lambda _: replacement, body, count=1)
    else:
        intro = "Scripts: `python -m bench.load` (load mode, then `--faults`); see docs/load.md for what they measure."
        new_body = (body.strip() or intro) + f"\n\n### {'Load' if part == 'load' else 'Faults'}\n\n{replacement}"
    reporting.benchmarks_section_write(SECTION, new_body)

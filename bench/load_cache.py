"""bench/load.py's page-cache switch (issue 26): the mix with the shared page cache on and off, side by side.

With --page-cache both, the stack runs a second gunicorn (same size, same PostgreSQL, Redis, worker and beat)
started with PAGE_CACHE_ENABLED=false, and the ramp alternates the two at each offered rate (cache on, then off),
so both halves see the same machine load and the same booked state; each stops at its first failed step. The
share of requests answered from the cache is counted from the X-Frontroom-Cache header of every answer.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from bench import stack


def skewed(values: list, exponent: float, rng) -> list:
    """`values` as a list to draw from uniformly whose draws follow Zipf's law (the k-th most asked for drawn in
    proportion to 1/k**exponent): a few districts and sessions asked for much more than the rest, as a texted or
    shared link makes them. Exponent 0: `values` unchanged (the issue-14 mix, every value as likely)."""
    if exponent <= 0:
        return values
    order = list(values)
    rng.shuffle(order)
    weights = [1 / (rank ** exponent) for rank in range(1, len(order) + 1)]
    return rng.choices(order, weights, k=max(100_000, len(order)))


def gunicorn_without_cache(servers) -> str:
    """A second gunicorn on its own port, as the stack's but with the page cache off; its base URL."""
    port = stack.free_port()  # the module: a loopback port nobody holds
    command, category, log_name = servers.commands["gunicorn"]
    command = [*command]
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {**servers.env, "PAGE_CACHE_ENABLED": "false"}
    saved, servers.env = servers.env, env
    try:
        servers.gunicorn_nocache = servers._spawn(command, category, "gunicorn-nocache.log")
    finally:
        servers.env = saved
    base = f"http://127.0.0.1:{port}"
    _wait(base)
    return base


def _wait(base: str, timeout: float = 60.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/health/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn without the page cache did not answer at {base}")


async def ramp_side_by_side(clients: dict, rates: list[float], seconds: float, p95_ms: float, cpu, ramp,
                            min_steps: int = 3) -> dict:
    """{"on": steps, "off": steps}: each rate offered to the cache-on server, then the same to the cache-off one;
    each mode goes on to its first failed step, and at least `min_steps` rates either way (on a loaded machine
    the first step may fail both: the costs side by side are still worth recording)."""
    steps: dict[str, list[dict]] = {mode: [] for mode in clients}
    for rate in rates:
        for mode, client in clients.items():
            if steps[mode] and not steps[mode][-1]["passed"] and len(steps[mode]) >= min_steps:
                continue
            (step,) = await ramp(client, [rate], seconds, p95_ms, cpu, tag_prefix=f"cache {mode} {rate:g}")
            hits = [h for h in client.hits if h.tag == step["tag"]]
            step["cache"] = Counter(getattr(h, "cache", "") or "-" for h in hits)
            steps[mode].append(step)
        if all(s and not s[-1]["passed"] for s in steps.values()) and len(steps["on"]) >= min_steps:
            break
    return steps


def server_ms(step: dict) -> float:
    """CPU per request of the server side (gunicorn, PostgreSQL, Redis, Celery) in the step."""
    return sum(step["cpu_ms"].get(part, 0.0) for part in ("gunicorn", "postgres", "redis", "celery"))


def side_by_side_text(steps: dict, health: dict, p95_ms: float) -> str:
    """The table for BENCHMARKS.md ("Shared page cache"): per offered rate, each mode's answered rate, p95, errors and cache share."""
    lines = ["| offered req/s | mode | answered req/s | p50 ms | p95 ms | errors | from cache (HIT) | "
             "server CPU ms/request | passed |", "|---|---|---|---|---|---|---|---|---|"]
    rates = sorted({s["rate"] for mode in steps.values() for s in mode})
    for rate in rates:
        for mode, mode_steps in steps.items():
            step = next((s for s in mode_steps if s["rate"] == rate), None)
            if step is None:
                continue
            n = sum(step["cache"].values()) or 1
            share = step["cache"].get("HIT", 0) / n
            lines.append(f"| {rate:g} | cache {mode} | {step['achieved']:.0f} | {step['p50']:.0f} | {step['p95']:.0f} | "
                         f"{step['errors'] + step['dropped']} | {share:.0%} | {server_ms(step):.2f} | "
                         f"{'yes' if step['passed'] else 'no'} |")
    lines.append("")
    for mode, mode_steps in steps.items():
        passed = [s for s in mode_steps if s["passed"]]
        best = passed[-1]["rate"] if passed else 0
        lines.append(f"- cache {mode}: sustained {best:g} req/s with p95 under {p95_ms:g} ms and no errors = "
                     f"{best / health['rate']:.1%} of /health/'s {health['rate']:.0f} req/s (same run)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a module of bench/load.py
    sys.exit(f"run bench/load.py --page-cache both (this is {Path(__file__).name}, its helper)")

#!/usr/bin/env python
"""The results page, before and after a change, side by side in one run (issue 22: results first).

Two gunicorn servers (2 sync workers each, DEBUG off, rate limits off), each on its own database and Redis
database: BEFORE serves another checkout of the app (`--before`, e.g. a detached worktree of main), AFTER this
one. Each database holds the same 100,000 published sessions (bench/search.py's seeding with the same seed: 2
slots each, meeting points on random real GB postcodes), seeded by that checkout's own code if it does not hold
exactly `--sessions` of them. One keep-alive client on loopback asks both for `/find/?postcode=<random GB
postcode>` in turn (the same postcode to both, so other load on the machine falls on both alike), and
`/health/` of each as the floor. Time from sending the request to the last byte of the HTML; bytes of the HTML
(uncompressed) and how many session cards each page had.

Prints a markdown block; --write replaces "## Results page, before and after (issue 22)" in BENCHMARKS.md.
Goal: p95 < 25 ms for the results page (AFTER).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting, stack  # noqa: E402

GOAL_P95_MS = 25.0
SECTION = "Results page, before and after"

SEED_SNIPPET = """
import sys, types
sys.path.insert(0, '.')
try:
    from bench import dataset
except ImportError:  # a checkout from before bench/data.py
    from bench import _common as dataset
dataset.django_setup(database_url=sys.argv[1], redis_url=sys.argv[2])
data_dir = dataset.shared_data_dir()
dataset.reference_data_load(data_dir, log=lambda message: None)
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)  # the pages name the hashed stylesheet
from sessions.models import CanvassSession
wanted = int(sys.argv[3])
if CanvassSession.objects.filter(status="published").count() != wanted:
    from bench.search import seed
    args = types.SimpleNamespace(seed=int(sys.argv[4]), sessions=wanted, slots_per_session=2, sessions_per_room=2)
    print(f"seeded in {seed(args, data_dir, lambda message: None):.0f} s")
else:
    print("reused")
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="A checkout of the code before the change.")
    parser.add_argument("--before-database-url", default="postgres://postgres@127.0.0.1:5432/frontroom_bench_results_before")
    parser.add_argument("--after-database-url", default="postgres://postgres@127.0.0.1:5432/frontroom_bench_results_after")
    parser.add_argument("--before-redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--after-redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500, help="Results pages per side (default: %(default)s).")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--write", action="store_true")
    return parser.parse_args(argv)


def commit_of(path: Path) -> str:
    return subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def seed_side(path: Path, database_url: str, redis_url: str, args, log) -> str:
    python = Path(sys.executable)
    result = subprocess.run([str(python), "-c", SEED_SNIPPET, database_url, redis_url, str(args.sessions),
                             str(args.seed)], cwd=path, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"seeding {path} failed:\n{result.stderr[-2000:]}")
    log(f"{path}: {result.stdout.strip()}")
    return result.stdout.strip()


def main(argv=None) -> int:
    args = parse_args(argv)
    log = reporting.progress_log("results_page")
    before_path = args.before.resolve()
    seeded = {
        "before": seed_side(before_path, args.before_database_url, args.before_redis_url, args, log),
        "after": seed_side(dataset.REPO_ROOT, args.after_database_url, args.after_redis_url, args, log),
    }
    dataset.django_setup(database_url=args.after_database_url, redis_url=args.after_redis_url)
    info = reporting.machine_info()
    data_dir = dataset.shared_data_dir()
    points = dataset.postcodes_pick(data_dir, args.requests, random.Random(args.seed + 1))

    import requests

    base_env = {"DEBUG": "false", "RATE_LIMITS_ENABLED": "false", "LOG_LEVEL": "WARNING"}
    sides = {"before": (before_path, args.before_database_url, args.before_redis_url),
             "after": (dataset.REPO_ROOT, args.after_database_url, args.after_redis_url)}
    times = {f"{side} {page}": [] for side in sides for page in ("health", "results")}
    sizes: dict[str, list[int]] = {side: [] for side in sides}
    cards: dict[str, list[int]] = {side: [] for side in sides}
    errors = dict.fromkeys(times, 0)
    with stack.gunicorn_running(workers=2, cwd=sides["before"][0], log_path=Path("/tmp/bench-results-before.log"),
                                 env={**base_env, "DATABASE_URL": sides["before"][1], "REDIS_URL": sides["before"][2],
                                      "CACHE_URL": sides["before"][2]}) as before_url, \
            stack.gunicorn_running(workers=2, cwd=sides["after"][0], log_path=Path("/tmp/bench-results-after.log"),
                                    env={**base_env, "DATABASE_URL": sides["after"][1], "REDIS_URL": sides["after"][2],
                                         "CACHE_URL": sides["after"][2]}) as after_url:
        bases = {"before": before_url, "after": after_url}
        clients = {side: requests.Session() for side in sides}
        for i in range(40):  # warm both servers' workers
            for side in sides:
                clients[side].get(f"{bases[side]}/find/?postcode={points[i].postcode.replace(' ', '+')}", timeout=10)
        for i, point in enumerate(points):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for side in order:
                for page, path in (("health", "/health/"),
                                   ("results", f"/find/?postcode={point.postcode.replace(' ', '+')}")):
                    started = time.perf_counter()
                    response = clients[side].get(bases[side] + path, timeout=10)
                    body = response.content
                    times[f"{side} {page}"].append(time.perf_counter() - started)
                    if response.status_code != 200:
                        errors[f"{side} {page}"] += 1
                    if page == "results":
                        sizes[side].append(len(body))
                        cards[side].append(body.count(b'class="card"'))
    rows = []
    for name, samples in times.items():
        side, page = name.split()
        s = reporting.summary_ms(samples)
        goal = ""
        if name == "after results":
            goal = f"p95 < {GOAL_P95_MS:g} ms: " + ("met" if s["p95"] < GOAL_P95_MS else "**missed**")
        weight = cards_median = ""
        if page == "results":
            weight = f"{sorted(sizes[side])[len(sizes[side]) // 2]:,}"
            cards_median = str(sorted(cards[side])[len(cards[side]) // 2])
        rows.append([f"{side.upper()} ({commit_of(sides[side][0])})", "`/health/`" if page == "health"
                     else "`/find/?postcode=`", s["n"], f"{s['p50']:.2f}", f"{s['p95']:.2f}", f"{s['p99']:.2f}",
                     weight, cards_median, errors[name], goal])
    text = "\n".join([
        f"Run: `python bench/results_page.py --before <worktree of main> --sessions {args.sessions} "
        f"--requests {args.requests}`",
        "",
        reporting.machine_line(info),
        "",
        f"Data: {args.sessions:,} published upcoming sessions (2 slots each) at random real GB postcodes in each "
        f"side's own database, the same rows on both (bench/search.py's seeding, seed {args.seed}; "
        f"before: {seeded['before']}, after: {seeded['after']}). Two gunicorn servers (2 sync workers each, DEBUG "
        "off, rate limits off), each with its own database and Redis database; one keep-alive client on loopback "
        "asks both for the same random GB postcode in turn (alternating which goes first), and each one's "
        "`/health/` as the floor.",
        "",
        reporting.markdown_table(["side (commit)", "page", "n", "p50 ms", "p95 ms", "p99 ms",
                               "HTML bytes (median, uncompressed)", "cards (median)", "errors", "goal"], rows),
        "",
        "Time from sending the request to the last byte of the HTML, as the client saw it (server time plus "
        "loopback; `/health/` shows that floor). The page weight is the HTML alone: the stylesheet is a static file, "
        "compressed and cached (the browser test measures the whole page, under 30 KB).",
    ])
    print(text)
    if any(errors.values()):
        raise SystemExit(f"some requests failed: {errors} (see /tmp/bench-results-*.log)")
    if args.write:
        reporting.benchmarks_section_write(SECTION, text)
        log(f"wrote section '{SECTION}' of {reporting.BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.exit(main())

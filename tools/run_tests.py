"""`make test`: the whole suite in two pytest processes at once, or one pytest run with the arguments given.

Much of the suite waits on real services (Celery workers, gunicorn, Chromium, Prism), so on a 2-core machine two
processes finish in about two thirds of the time one takes. Each has its own test database, Redis database and
var directory, so neither sees the other's rows, queues, rate-limit counters or caches:

  main:    everything but the second group                 DATABASE_URL,           REDIS_URL
  pages:   tests/web (the browser tests), the schema fuzz   DATABASE_URL + "_pages", REDIS_URL's db - 1
           and tests/sms (moved here to even the two; on 7 Dec 2026, a quiet machine: main 390 s, pages 420-435 s)

Usage: python tools/run_tests.py [pytest arguments]   (with arguments: one pytest run, as `pytest` would)
The exit status is the first failing group's (0 when both pass). Each group's output is shown as it ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
PAGES = ["tests/web", "tests/api/test_schema_fuzz.py", "tests/sms"]


def _other_database(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_pages"))


def _other_redis(url: str) -> str:
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db - 1 if db > 0 else 1}"))


def main(argv: list[str]) -> int:
    python = sys.executable
    if argv:
        return subprocess.call([python, "-m", "pytest", *argv], cwd=REPO)
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not env.get(name):
            print(f"{name} is not set: run the suite with `make test`.", file=sys.stderr)
            return 3
    # The suite starts many Python processes (Celery workers, gunicorn, manage.py, the embedded
    # app); with bytecode caching off each one compiles the app from source again (0.7 s of CPU a start, measured
    # with `manage.py check`), so the groups may write __pycache__ (ignored by git) whatever the shell says.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Static files once, before either process (each would otherwise collect into the same directory at once).
    env["FRONTROOM_TEST_STATIC_COLLECTED"] = "1"
    subprocess.check_call([python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=REPO, env=env)
    var_root = Path(tempfile.mkdtemp(prefix="frontroom-tests-"))
    groups = {
        "main": ({**env, "FRONTROOM_VAR_DIR": str(var_root / "main")},
                 [*(f"--ignore={path}" for path in PAGES)]),
        "pages": ({**env, "DATABASE_URL": _other_database(env["DATABASE_URL"]),
                   "REDIS_URL": _other_redis(env["REDIS_URL"]), "FRONTROOM_VAR_DIR": str(var_root / "pages")},
                  PAGES),
    }
    started = time.monotonic()
    running = {}
    for name, (group_env, args) in groups.items():
        log = open(var_root / f"{name}.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed below
        print(f"[tests] {name}: pytest {' '.join(args)} (REDIS_URL={group_env['REDIS_URL']}); log {log.name}",
              flush=True)
        process = subprocess.Popen([python, "-m", "pytest", *args], cwd=REPO, env=group_env, stdout=log,
                                   stderr=subprocess.STDOUT)
        running[name] = (process, log)
    status = 0
    while running:
        for name, (process, log) in list(running.items()):
            if process.poll() is None:
                continue
            del running[name]
            log.seek(0)
            print(f"\n[tests] ===== {name} (exit {process.returncode}, {time.monotonic() - started:.0f} s) =====")
            sys.stdout.write(log.read())
            log.close()
            sys.stdout.flush()
            status = status or process.returncode
        if running:
            print(f"[tests] {time.monotonic() - started:.0f} s: still running {', '.join(running)}", flush=True)
            time.sleep(30 if len(running) == 2 else 15)
    print(f"\n[tests] all groups done in {time.monotonic() - started:.0f} s: "
          f"{'passed' if status == 0 else f'FAILED (exit {status}); logs and var directories kept in {var_root}'}")
    if status == 0:
        shutil.rmtree(var_root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The embedded defaults (`make run`: SQLite, eager Celery, SMS to the log) driven in a child process, because the
suite itself runs on PostgreSQL and Redis."""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import REPO_ROOT

SQLITE_FILE = "frontroom.sqlite3"  # config/settings.py: the embedded database, in FRONTROOM_VAR_DIR
_MIGRATE = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
print("RESULT {}")
"""
_migrated: list[Path] = []


def _migrated_database() -> Path:
    """The embedded database as `migrate` leaves it, made once per pytest process: migrating SQLite from nothing
    costs a child 5-6 s of CPU, and a dozen tests start one. Each copy is migrated again by its script (a check
    that finds nothing to do), as `make run` would."""
    if not _migrated:
        template = Path(tempfile.mkdtemp(prefix="frontroom-embedded-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        _run(_MIGRATE, template, {})
        _migrated.append(template / SQLITE_FILE)
    return _migrated[0]


def _run(script: str, var_dir: Path, env: dict[str, str]) -> dict:
    child_env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    child_env.update(DJANGO_SETTINGS_MODULE="config.settings", FRONTROOM_VAR_DIR=str(var_dir), **env)
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=child_env, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.split("RESULT ", 1)[1])


def embedded_run(script: str, var_dir: Path, *, from_nothing: bool = False, **env: str) -> dict:
    """Run `script` with `python -c` from the repository, with DATABASE_URL and REDIS_URL unset, its files (the
    SQLite database) in `var_dir` and `env` on top; fail unless it exits 0, and answer the JSON it printed after
    "RESULT ". The database starts migrated (a copy of one migrated once per process), or with `from_nothing`
    absent, for the script's own `migrate` to create."""
    if not from_nothing:
        var_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_database(), var_dir / SQLITE_FILE)
    return _run(script, var_dir, env)

"""The embedded defaults (`make run`: SQLite, eager Celery, SMS to the log) driven in a child process, because the
suite itself runs on PostgreSQL and Redis."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def embedded_run(script: str, var_dir: Path, **env: str) -> dict:
    """Run `script` with `python -c` from the repository, with DATABASE_URL and REDIS_URL unset, its files (the
    SQLite database) in `var_dir` and `env` on top; fail unless it exits 0, and answer the JSON it printed after
    "RESULT "."""
    child_env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    child_env.update(DJANGO_SETTINGS_MODULE="config.settings", FRONTROOM_VAR_DIR=str(var_dir), **env)
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=child_env, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.split("RESULT ", 1)[1])

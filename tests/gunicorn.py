"""The app served by a real gunicorn in a child process, for tests that stop or starve what it talks to."""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT
from tests.sms.conftest import free_port
from tests.waiting import wait_until


@contextlib.contextmanager
def gunicorn_serving(env: dict, log: Path) -> Iterator[str]:
    """gunicorn (one gthread worker, two threads, as in production) with `env`, logging to `log`; yields its base
    URL once /health/ answers, and stops it afterwards."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(os.path.join(os.path.dirname(sys.executable), "gunicorn")), "config.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread", "--threads", "2", "--timeout", "60"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            requests.get(f"{base}/health/", timeout=10)
        except requests.RequestException:
            return False
        return True

    try:
        wait_until(answers, timeout=120, message="gunicorn to answer", detail=lambda: log.read_text()[-3000:])
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)

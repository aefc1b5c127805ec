"""gunicorn, a Celery worker and beat for the load bench, started, watched and stopped together."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import dataset, stack


def _pid_with_local_port(pids: list[int], ports: list[int]) -> int | None:
    """The first of `pids` holding a TCP socket whose local port is one of `ports` (/proc/net/tcp + fds)."""
    inodes = set()
    wanted = {f"{port:04X}" for port in ports}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[1].rsplit(":", 1)[1] in wanted:
                    inodes.add(parts[9])
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
    return None

class Stack:
    """gunicorn, a Celery worker and beat, the loopback Twilio; started and stopped together."""

    def __init__(self, args, root: Path, env: dict, cpu: stack.CpuAccount):
        self.args, self.root, self.env, self.cpu = args, root, env, cpu
        self.processes: list[subprocess.Popen] = []
        self.restarts: list[str] = []
        self.gunicorn = None
        self.base = ""

    def _spawn(self, command: list[str], category: str, log_name: str) -> subprocess.Popen:
        log_file = open(self.root / log_name, "ab")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(command, cwd=dataset.REPO_ROOT, env=self.env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        self.cpu.roots[process.pid] = category
        return process

    def start(self) -> str:
        celery = str(Path(sys.executable).with_name("celery"))
        port = stack.free_port()
        self.commands = {
            "worker": ([celery, "-A", "celery_app", "worker", "-P", "prefork", "-c", str(self.args.celery_concurrency),
                        "-l", "WARNING", "--without-gossip", "--without-mingle", "-n", f"load{os.getpid()}@%h"],
                       "celery", "celery-worker.log"),
            "beat": ([celery, "-A", "celery_app", "beat", "-l", "WARNING", "--schedule",
                      str(self.root / "celerybeat-schedule")], "celery", "celery-beat.log"),
            "gunicorn": ([str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application", "--bind",
                          f"127.0.0.1:{port}", "--workers", str(self.args.workers), "--worker-class", "gthread",
                          "--threads", str(self.args.threads), "--backlog", "2048", "--log-level", "warning",
                          "--timeout", "30"], "gunicorn", "gunicorn.log"),
        }
        for name, (command, category, log_name) in self.commands.items():
            setattr(self, name, self._spawn(command, category, log_name))
        self.base = f"http://127.0.0.1:{port}"
        self.wait_healthy(60)
        return self.base

    def wait_healthy(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.root / 'gunicorn.log'}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/health/", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /health/")

    def restart_exited(self) -> list[str]:
        """Start again whichever of gunicorn, the worker and beat has exited; say what was restarted."""
        notes = []
        for name in ("worker", "beat", "gunicorn"):
            process = getattr(self, name)
            if process.poll() is not None:
                command, category, log_name = self.commands[name]
                setattr(self, name, self._spawn(command, category, log_name))
                self.restarts.append(name)
                notes.append(f"the Celery {name} had exited (status {process.returncode}) and was started again"
                             if name != "gunicorn" else
                             f"gunicorn had exited (status {process.returncode}) and was started again")
        return notes

    def children(self, process: subprocess.Popen) -> list[int]:
        return [pid for pid, (ppid, _, _) in stack.process_table().items() if ppid == process.pid]

    def stop(self) -> None:
        for process in reversed(self.processes):
            stack.process_group_stop(process, timeout=15)

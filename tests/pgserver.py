"""A private PostgreSQL server for fault tests and benchmarks: initdb in a temporary directory, a free port.

The machine's shared PostgreSQL (5432) must never be stopped or restarted by a test; this one can be.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.waiting import wait_until


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    return candidates[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """``start()``, ``stop()`` (fast shutdown), ``url(dbname)``; trust auth on 127.0.0.1 for user postgres."""

    def __init__(self, base_dir: Path | None = None, port: int | None = None):
        # Its own directory under /tmp by default: pytest's tmp_path is private to root, where the postgres user
        # cannot reach it.
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="frontroom-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log = self.base_dir / "postgres.log"
        self.port = port or _free_port()
        self.bin = _bin_dir()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> PrivatePostgres:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.base_dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-instructions", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def remove(self) -> None:
        """Stop the server at once and delete its files."""
        self.stop(mode="immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False).returncode == 0

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(lambda: self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode == 0,
                   timeout=timeout, message=f"private PostgreSQL on {self.port} to be ready",
                   detail=lambda: self.log.read_text()[-2000:])


@contextmanager
def migrated_private_postgres(dbname: str = "frontroom") -> Iterator[PrivatePostgres]:
    """A private server, running, with the app's database `dbname` created and migrated by `manage.py migrate`
    (the way a deployment makes it); removed afterwards."""
    server = PrivatePostgres().init()
    server.start()
    try:
        subprocess.run([str(server.bin / "createdb"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                        dbname], check=True, timeout=60)
        env = {**os.environ, "DATABASE_URL": server.url(dbname), "LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                       cwd=Path(__file__).resolve().parent.parent, env=env, check=True, timeout=600)
        yield server
    finally:
        server.remove()

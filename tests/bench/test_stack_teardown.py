"""bench.stack.stack_teardown, the one teardown of bench/load and bench/soak.py: what a run started is stopped,
last started first, and its folder removed, also after a run that failed halfway."""

import pytest

from bench import stack

pytestmark = pytest.mark.server  # a private redis-server


class Recorder:
    def __init__(self, name: str, stopped: list):
        self.name, self.stopped = name, stopped

    def stop(self, *args) -> None:
        self.stopped.append((self.name, *args))


def test_teardown_stops_the_stack_last_started_first_and_removes_the_folder(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    (root / "gunicorn.log").write_text("served")
    redis_server = stack.PrivateRedis(root).start()
    stopped: list = []

    stack.stack_teardown(root=root, redis_server=redis_server, servers=Recorder("servers", stopped),
                         fake=Recorder("twilio", stopped), pg=Recorder("postgres", stopped))

    assert stopped == [("servers",), ("twilio",), ("postgres", "immediate")]
    assert redis_server.process.poll() is not None
    assert not root.exists()


def test_teardown_after_a_run_that_failed_before_its_servers_started(tmp_path):
    redis_server = stack.PrivateRedis(tmp_path).start()

    stack.stack_teardown(root=tmp_path, redis_server=redis_server, keep=True)

    assert redis_server.process.poll() is not None
    assert tmp_path.exists()

"""GET /healthz: the database, Redis, and the Celery worker's and beat's heartbeats; 503 when one is down."""

import os
import subprocess
import sys

import pytest

from core import heartbeat
from tests.conftest import REPO_ROOT
from tests.sms.conftest import broker, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def _checks(client, query=""):
    response = client.get(f"/healthz{query}")
    return response, response.json()["checks"]


def test_healthz_is_503_until_the_worker_and_beat_have_a_heartbeat(client, redis_client, settings):
    response, checks = _checks(client)
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert int(response["Retry-After"]) > 0 and "no-cache" in response["Cache-Control"]
    assert checks["database"]["status"] == "ok" and checks["redis"]["status"] == "ok"
    assert checks["worker"] == {"status": "down", "error": "no heartbeat"}
    assert checks["beat"] == {"status": "down", "error": "no heartbeat"}

    assert heartbeat.beat("worker", settings.REDIS_URL) and heartbeat.beat("beat", settings.REDIS_URL)
    response, checks = _checks(client)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert {name: check["status"] for name, check in checks.items()} == {
        "database": "ok", "redis": "ok", "worker": "ok", "beat": "ok"}
    assert checks["worker"]["age_s"] < 5

    # A heartbeat older than three intervals is down.
    redis_client.set(heartbeat.PREFIX + "beat", "1000.0")
    response, checks = _checks(client)
    assert response.status_code == 503 and checks["beat"]["status"] == "down" and checks["worker"]["status"] == "ok"

    response, checks = _checks(client, "?only=database,redis")
    assert response.status_code == 200 and set(checks) == {"database", "redis"}


def test_healthz_with_redis_unreachable_is_503_and_names_it(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response, checks = _checks(client)
    assert response.status_code == 503
    assert checks["redis"]["status"] == "down" and "Connection" in checks["redis"]["error"]
    assert checks["worker"]["status"] == checks["beat"]["status"] == "down"
    assert checks["database"]["status"] == "ok"


def test_healthz_on_the_embedded_default_counts_eager_celery_as_up(client, settings):
    settings.CELERY_BROKER_URL = "memory://"
    response, checks = _checks(client)
    assert response.status_code == 200 and checks["worker"]["status"] == "ok"


def test_a_running_worker_writes_its_heartbeat(celery_worker, client, redis_client, settings):
    wait_until(lambda: redis_client.get(heartbeat.PREFIX + "worker") is not None, timeout=30,
               message="the worker's heartbeat")
    assert redis_client.get(heartbeat.PREFIX + f"worker:{celery_worker.hostname}") is not None
    _, checks = _checks(client)
    assert checks["worker"]["status"] == "ok"


def test_beat_writes_its_heartbeat_as_it_ticks(redis_client, settings, tmp_path):
    from celery_app import app

    with broker(settings.REDIS_URL):
        scheduler = heartbeat.BeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
        scheduler.setup_schedule()
        assert redis_client.get(heartbeat.PREFIX + "beat") is None
        assert scheduler.tick() <= heartbeat.interval()
    assert redis_client.get(heartbeat.PREFIX + "beat") is not None


@pytest.mark.server  # a child process
def test_the_container_healthcheck_reads_this_nodes_heartbeat(redis_client, settings):
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
    env.pop("CELERY_BROKER_URL", None)

    def check(what):
        return subprocess.run([sys.executable, "-m", "core.heartbeat", what], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=60).returncode

    assert check("beat") == 1
    heartbeat.beat("beat", settings.REDIS_URL)
    assert check("beat") == 0
    import socket

    assert check("worker") == 1
    heartbeat.beat(f"worker:celery@{socket.gethostname()}", settings.REDIS_URL)
    assert check("worker") == 0

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.sms.conftest import free_port, wait_listening


def test_docker_compose_parses_and_names_the_services_with_healthchecks():
    compose = yaml.safe_load(Path(REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "celery_app", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "celery_app", "beat"]


def test_every_beat_task_is_a_registered_celery_task():
    from django.conf import settings

    from celery_app import app

    app.loader.import_default_modules()
    missing = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] not in app.tasks]
    assert missing == []


def test_api_root_is_an_index_of_the_api(client, db):
    response = client.get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["schema"] == "/api/schema/" and body["docs"] == "/api/docs/"
    paths = {entry["path"] for entry in body["endpoints"]}
    assert "/api/slots/<int:slot_id>/bookings/" in paths
    assert "/api/sessions/" in paths
    for entry in body["endpoints"]:
        assert entry["path"].startswith("/api/") and "(?P" not in entry["path"], entry


def test_the_web_service_counts_every_gunicorn_workers_requests():
    web = yaml.safe_load(Path(REPO_ROOT / "docker-compose.yml").read_text())["services"]["web"]
    directory = web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert directory in web["tmpfs"]  # empty at every start, as prometheus_client's multiprocess mode needs
    assert "--config python:config.gunicorn" in web["command"]
    assert "\n" not in web["command"].split("&&", 1)[1].strip()  # one shell command line


@pytest.mark.server  # a child process
def test_gunicorn_with_two_workers_serves_metrics_summed_over_both(tmp_path):
    """Real gunicorn with config/gunicorn.py: a file left by a previous run is cleared at start, and /metrics
    counts the requests every worker answered, not only the scraping worker's."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left by the previous run")
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": "scrape-token",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "FRONTROOM_VAR_DIR": str(tmp_path / "var"),
           "LOG_LEVEL": "WARNING"}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        env.pop(name, None)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--config",
             "python:config.gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(port, server, "gunicorn", log=log)
        base = f"http://127.0.0.1:{port}"
        with ThreadPoolExecutor(8) as pool:  # concurrent connections, so both workers answer some
            statuses = list(pool.map(lambda _: urlopen(f"{base}/health/", timeout=30).status, range(60)))
        assert statuses == [200] * 60
        scrape = Request(f"{base}/metrics", headers={"Authorization": "Bearer scrape-token"})
        body = urlopen(scrape, timeout=30).read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert not (directory / "counter_999999.db").exists()
    assert list(directory.glob("counter_*.db")), log.read_text()  # one file per worker that counted
    assert 'frontroom_http_requests_total{method="GET",status="2xx"} 60.0' in body, body

from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT


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

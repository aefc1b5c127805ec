"""Degraded, not down: with PostgreSQL stopped, the public pages the shared cache holds are still served, marked as
possibly out of date; a booking form answers that bookings are paused; /healthz says "degraded-db". Back up, the
pages are computed again.

A private PostgreSQL (initdb on a free port, tests/pgserver.py) serves a real gunicorn whose page cache is this
test run's Redis under a key prefix of its own; the shared server on 5432 is never touched.
"""

import os
import uuid

import pytest
import redis
import requests
from django.conf import settings

from tests.gunicorn import gunicorn_serving
from tests.pgserver import migrated_private_postgres
from tests.waiting import wait_until

PREFIX = f"test-degraded-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def private_postgres():
    with migrated_private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def app(private_postgres, tmp_path_factory):
    env = {**os.environ, "DATABASE_URL": private_postgres.url("frontroom"), "DEBUG": "false",
           "SECRET_KEY": "degraded-mode-test-secret-key-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
           "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "RATE_LIMITS_ENABLED": "false",
           "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "true", "PAGE_CACHE_ENABLED": "true",
           "PAGE_CACHE_KEY_PREFIX": PREFIX, "PAGE_CACHE_ADMIT_AFTER": "1", "PAGE_CACHE_FRESH_SECONDS": "60", "PAGE_CACHE_STALE_SECONDS": "600"}
    with gunicorn_serving(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as base:
        yield base
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{PREFIX}:*"))
    if keys:
        client.delete(*keys)


PAGES = {"results": "/find/?postcode=S10+5XZ", "api": "/api/sessions/"}


def test_postgres_stopped_serves_cached_pages_marked_and_pauses_bookings(private_postgres, app):
    web = requests.Session()
    fresh = {name: web.get(app + path, timeout=10) for name, path in PAGES.items()}
    assert {name: r.status_code for name, r in fresh.items()} == {"results": 200, "api": 200}
    assert web.get(app + PAGES["results"], timeout=10).headers["X-Frontroom-Cache"] == "HIT"
    assert web.get(app + "/healthz?only=database", timeout=10).json()["mode"] == "ok"
    # Make the cached entries no longer good (as a booking would), so only degraded mode may serve them.
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{PREFIX}:tag:*"):
        client.delete(key)
    client.set(f"{PREFIX}:tag:catalogue", 2**62)

    private_postgres.stop()
    try:
        stale = {name: web.get(app + path, timeout=20) for name, path in PAGES.items()}
        again = web.get(app + PAGES["results"], timeout=20)  # within PAGE_CACHE_DB_RETRY_SECONDS: no DB attempt
        paused = web.post(app + "/api/slots/1/bookings/", json={
            "name": "Ann", "phone": "07400 123456", "postcode": "S10 1AA", "consent_sms": True}, timeout=20)
        paused_form = web.get(app + "/s/1/book/?slot=1", timeout=20)
        uncached = web.get(app + "/find/?postcode=S11+8YA", timeout=20)
        health = web.get(app + "/healthz?only=database", timeout=20)
    finally:
        private_postgres.start()

    page = stale["results"]
    assert page.status_code == 200 and page.headers["X-Frontroom-Cache"] == "STALE"
    assert "may be out of date" in page.text and "bookings are paused" in page.text
    assert "public" not in page.headers["Cache-Control"]
    assert again.headers["X-Frontroom-Cache"] == "STALE"
    api = stale["api"]
    assert api.status_code == 200 and api.headers["Warning"].startswith("110")
    assert api.json() == fresh["api"].json()
    assert paused_form.status_code == 503 and "Bookings are paused" in paused_form.text
    assert paused.status_code == 503 and paused.json()["error"]["code"] == "unavailable"
    assert uncached.status_code == 503  # nothing cached for it: the plain "busy" page, as before
    assert health.status_code == 503 and health.json()["mode"] == "degraded-db"

    private_postgres.wait_ready()

    def computed_again() -> bool:
        return web.get(app + PAGES["results"], timeout=10).headers.get("X-Frontroom-Cache") in ("MISS", "HIT")

    wait_until(computed_again, timeout=60, message="pages computed again once PostgreSQL is back")

"""PostgreSQL unreachable: 503 with Retry-After (JSON under /api/ and /twilio/, a plain page elsewhere), never a
500; once it is back the next requests succeed on the same server (its kept connections are health-checked).

A private PostgreSQL (initdb on a free port, tests/pgserver.py) serves a real gunicorn; the shared server on
5432 is never touched.
"""

import os

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.gunicorn import gunicorn_serving
from tests.pgserver import migrated_private_postgres

AUTH_TOKEN = "database-down-test-token"
WEBHOOK_BASE = "https://frontroom.example.org"


@pytest.fixture(scope="module")
def private_postgres():
    with migrated_private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def app_on_private_postgres(private_postgres, tmp_path_factory):
    """gunicorn (one worker, threads, connections kept 60 s as in production) on the private server."""
    env = {**os.environ, "DATABASE_URL": private_postgres.url("frontroom"), "DEBUG": "false",
           "SECRET_KEY": "database-down-test-secret-key-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
           "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_FROM": "+447700900000",
           "SMS_WEBHOOK_BASE_URL": WEBHOOK_BASE, "RATE_LIMITS_ENABLED": "false"}
    env.pop("REDIS_URL", None)
    with gunicorn_serving(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as base:
        yield base


def _signed_status(base: str) -> requests.Response:
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{WEBHOOK_BASE}/twilio/status/", params)
    return requests.post(f"{base}/twilio/status/", data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


def _requests(base: str) -> dict[str, requests.Response]:
    session = requests.Session()  # keep-alive: the same gunicorn thread, its kept database connection
    return {
        "api": session.get(f"{base}/api/seats/", timeout=10),
        "api_write": session.post(f"{base}/api/slots/999999/bookings/", json={
            "name": "Ann", "phone": "07400 123456", "postcode": "S10 1AA", "consent_sms": True}, timeout=10),
        "page": session.get(f"{base}/find/", params={"postcode": "S10 5XZ"}, timeout=10),
        "twilio": _signed_status(base),
        "health": session.get(f"{base}/health/", timeout=10),
        "healthz": session.get(f"{base}/healthz?only=database", timeout=10),
    }


def test_postgres_down_is_503_with_retry_after_and_back_up_is_served_again(private_postgres,
                                                                           app_on_private_postgres):
    base = app_on_private_postgres
    before = _requests(base)
    assert all(r.status_code < 500 for r in before.values()), {k: r.status_code for k, r in before.items()}

    private_postgres.stop()
    try:
        down = _requests(base)
    finally:
        private_postgres.start()
    for name in ("api", "api_write", "page", "twilio", "healthz"):
        response = down[name]
        assert response.status_code == 503, (name, response.status_code, response.text[:500])
        assert int(response.headers["Retry-After"]) > 0, name
    for name in ("api", "api_write", "twilio"):
        assert down[name].headers["Content-Type"].startswith("application/json")
        assert down[name].json()["error"]["code"] == "unavailable"
    assert down["page"].headers["Content-Type"].startswith("text/html")
    assert "try again" in down["page"].text and "Traceback" not in down["page"].text
    assert down["health"].status_code == 200  # liveness: the process is up; /healthz says what is down
    assert down["healthz"].json()["checks"]["database"]["status"] == "down"

    private_postgres.wait_ready()
    statuses = {k: r.status_code for k, r in before.items()}
    assert {k: r.status_code for k, r in _requests(base).items()} == statuses

    # Restarted with no request in between: the workers' kept connections died with the old server. They are
    # health-checked and replaced at the start of the next request (CONN_HEALTH_CHECKS), not failed.
    private_postgres.stop()
    private_postgres.start()
    private_postgres.wait_ready()
    assert {k: r.status_code for k, r in _requests(base).items()} == statuses

"""Structured logs with a request id on every line, Prometheus metrics at /metrics, errors to Sentry (scrubbed)."""

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.test import Client

from celery_app import app
from core import logs
from core.sentry import REPLACEMENT, scrub
from tests.conftest import REPO_ROOT
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

PHONE = "+447400123456"


@pytest.fixture
def json_lines():
    """The JSON lines Django's request logger writes (the handler the settings build for LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_every_response_has_a_request_id_and_the_log_lines_carry_it(client, json_lines):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    rid = response["X-Request-ID"]
    assert len(rid) == 32
    [line] = [line for line in json_lines() if "no-such-thing" in line["message"]]
    assert line["request_id"] == rid and line["level"] == "WARNING" and line["logger"] == "django.request"
    assert line["time"].endswith("+00:00")
    assert client.get("/health/")["X-Request-ID"] != rid  # one per request
    assert logs.request_id.get() == "-"  # nothing left behind for the next lines of this thread


def test_a_request_id_from_the_proxy_is_kept_only_when_trusted_and_well_formed(settings):
    settings.REQUEST_ID_TRUSTED = False
    assert Client().get("/health/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] != "abc-123"
    settings.REQUEST_ID_TRUSTED = True
    assert Client().get("/health/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    forged = Client().get("/health/", HTTP_X_REQUEST_ID='x" level=ERROR\nfake line')["X-Request-ID"]
    assert forged != 'x" level=ERROR\nfake line' and len(forged) == 32


@pytest.mark.server  # a child process
def test_the_plain_format_and_the_json_format_both_carry_the_request_id(settings):
    assert "%(request_id)s" in settings.LOGGING["formatters"]["plain"]["format"]
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]
    env = {**os.environ, "LOG_FORMAT": "json"}
    code = ("import django, logging; django.setup(); from core.logs import request_id; request_id.set('rid-1'); "
            "logging.getLogger('frontroom.test').warning('hello %s', 'there', extra={'slot_id': 7})")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    [line] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert line["message"] == "hello there" and line["request_id"] == "rid-1" and line["slot_id"] == 7


@app.task(name="tests.request_id_record")
def request_id_record(key: str) -> None:
    import redis
    from django.conf import settings

    logging.getLogger("frontroom.test").info("task runs")
    redis.Redis.from_url(settings.REDIS_URL).set(key, logs.request_id.get())


def test_a_task_enqueued_by_a_request_logs_that_requests_id(celery_worker, redis_client):
    token = logs.request_id.set("req-from-web-1")
    try:
        request_id_record.delay("rid:enqueued")
    finally:
        logs.request_id.reset(token)
    request_id_record.delay("rid:alone")  # enqueued outside any request: the task's own id
    wait_until(lambda: redis_client.get("rid:enqueued") and redis_client.get("rid:alone"), timeout=30,
               message="the tasks to run")
    assert redis_client.get("rid:enqueued") == b"req-from-web-1"
    assert redis_client.get("rid:alone").startswith(b"task-")


# --- /metrics ------------------------------------------------------------------------------------------


def _scrape(client, **headers) -> dict[str, float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_are_hidden_without_the_token_or_an_allowed_address(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 404


def test_metrics_count_requests_bookings_emails_and_read_the_outbox_and_queue(
        client, settings, redis_client, django_capture_on_commit_callbacks):
    from tests.factories import PostcodeFactory, SlotFactory, book

    settings.METRICS_TOKEN = "s3cret-token"
    auth = {"HTTP_AUTHORIZATION": "Bearer s3cret-token"}
    before = _scrape(client, **auth)
    client.get("/health/")
    client.get("/api/no-such-thing/")

    slot = SlotFactory(capacity=1)
    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    with django_capture_on_commit_callbacks(execute=True):
        book(slot, postcode=postcode)
    with django_capture_on_commit_callbacks(execute=True):
        book(slot, postcode=postcode)  # full: waitlisted

    settings.EMAIL_BACKEND = "core.mail.MeteredEmailBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.send_mail("Subject", "Body", "from@example.org", ["to@example.org"])
    assert len(mail.outbox) == 1

    from notify.sms.models import SmsMessage

    SmsMessage.objects.update(status="pending")  # as if the broker had been down: waiting to be sent
    redis_client.rpush(settings.CELERY_TASK_DEFAULT_QUEUE, "a", "b", "c")

    after = _scrape(client, **auth)

    def delta(name):
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert delta('frontroom_http_requests_total{method="GET",status="2xx"}') >= 2  # /health/ and the first scrape
    assert delta('frontroom_http_requests_total{method="GET",status="4xx"}') >= 1
    assert delta('frontroom_bookings_total{status="confirmed"}') == 1
    assert delta('frontroom_bookings_total{status="waitlisted"}') == 1
    assert delta('frontroom_emails_total{result="sent"}') == 1
    pending = SmsMessage.objects.filter(status="pending").count()
    assert pending >= 2 and after['frontroom_sms_messages{status="pending"}'] == pending
    assert after['frontroom_sms_messages{status="failed"}'] == 0
    assert after["frontroom_sms_outbox_oldest_pending_age_seconds"] >= 0
    assert "frontroom_booking_events_oldest_unprocessed_age_seconds" in after
    assert after['frontroom_celery_queue_depth{queue="celery"}'] == 3
    assert after['frontroom_up{part="database"}'] == 1 and after['frontroom_up{part="redis"}'] == 1


def test_a_failing_email_backend_is_counted_as_failed(client, settings):
    from prometheus_client import REGISTRY

    settings.EMAIL_BACKEND = "core.mail.MeteredEmailBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
    before = REGISTRY.get_sample_value("frontroom_emails_total", {"result": "failed"}) or 0
    with pytest.raises(OSError):
        mail.send_mail("Subject", "Body", "from@example.org", ["to@example.org"])
    assert REGISTRY.get_sample_value("frontroom_emails_total", {"result": "failed"}) == before + 1


@pytest.mark.server  # a child process
def test_metrics_in_multiprocess_mode_sum_the_workers(tmp_path):
    code = ("import django; django.setup(); from core import metrics; metrics.BOOKINGS.labels(status='confirmed').inc(); "
            "print(metrics.render()[0].decode())")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    for _ in range(2):  # two "workers", one after the other, sharing the directory
        output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                timeout=120, check=True).stdout
    assert 'frontroom_bookings_total{status="confirmed"} 2.0' in output


# --- Sentry ----------------------------------------------------------------------------------------------


def test_the_scrubber_removes_phone_numbers_wherever_they_are():
    event = {
        "message": f"could not text {PHONE}",
        "exception": {"values": [{"type": "ValueError", "value": "bad number 07400 123 456",
                                  "stacktrace": {"frames": [{"vars": {"phone": "'whatever'", "n": "3"}}]}}]},
        "request": {"data": {"From": PHONE, "MessageSid": "SM123"}, "query_string": "phone=%2B447400123456"},
        "breadcrumbs": {"values": [{"message": f"SELECT ... WHERE phone = '{PHONE}'"}]},
        "extra": {"numbers": [PHONE, "(0740) 012-3456"]},
    }
    scrubbed = json.dumps(scrub(event))
    assert "447400123456" not in scrubbed and "07400 123 456" not in scrubbed and "012-3456" not in scrubbed
    assert "SM123" in scrubbed and "ValueError" in scrubbed and REPLACEMENT in scrubbed
    assert scrub({"slot_id": 12345, "count": "3 places"}) == {"slot_id": 12345, "count": "3 places"}


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.bodies.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_receiver():
    _Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", _Receiver.bodies
    server.shutdown()


def _run_with_sentry(dsn: str | None) -> str:
    code = (
        "import django, sentry_sdk; django.setup(); print('active', sentry_sdk.get_client().is_active()); "
        f"phone = {PHONE!r}\n"
        "try:\n    raise ValueError(f'cannot text {phone}')\n"
        "except ValueError:\n    sentry_sdk.capture_exception()\n"
        "sentry_sdk.flush(5)"
    )
    env = dict(os.environ)
    env.pop("SENTRY_DSN", None)
    if dsn:
        env["SENTRY_DSN"] = dsn
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True).stdout


@pytest.mark.server  # a child process
def test_sentry_is_off_without_a_dsn(sentry_receiver):
    _, bodies = sentry_receiver
    assert "active False" in _run_with_sentry(None)
    assert bodies == []


@pytest.mark.server  # a child process
def test_sentry_with_a_dsn_receives_errors_without_phone_numbers(sentry_receiver):
    dsn, bodies = sentry_receiver
    assert "active True" in _run_with_sentry(dsn)
    sent = b"".join(bodies)
    assert b"ValueError" in sent and b"cannot text" in sent
    assert PHONE.encode() not in sent and b"447400123456" not in sent

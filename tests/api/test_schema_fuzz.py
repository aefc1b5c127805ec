"""Generated requests against the project's own schema (Schemathesis, in-process through the WSGI app).

Every operation, each generated case sent three times, as anonymous, as a host (token) and as a coordinator,
against seeded data whose ids and tokens the generated path parameters and codes often use, so operations
reach their success paths and not only 404. Checks: no 5xx, every status and body as documented, no valid
request refused. Each request runs in a savepoint rolled back afterwards, so one never changes what the
next finds; the savepoint is taken only before the request's first write, as most requests write nothing.

FUZZ_EXAMPLES (default 100) sets the generated cases per operation (each sent as the three roles);
derandomize fixes them run to run.

Where the time goes (BENCHMARKS.md, "Schema fuzz"): generating a case costs about as much as sending it, so
a case is generated once and sent as every role; Hypothesis' example database, deadline and health checks
are off, and shrinking only ever runs on a failure.
"""

import os
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from psycopg.pq import TransactionStatus
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from twilio.request_validator import RequestValidator

from config.wsgi import application
from core.schema import SEMANTIC_ERROR_CODES
from tests.factories import (
    MeetingPointFactory,
    SlotFactory,
    UserFactory,
    booking_ask,
    texted_code,
    token_for,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
ROLES = ("anonymous", "host", "coordinator")


def valid_data_accepted(ctx, response, case):
    """positive_data_acceptance, except for the refusals the schema lists on its 400s (core.schema): a
    schema-valid request naming an unknown postcode, say, is still refused, with its own code."""
    if response.status_code == 400:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if code in SEMANTIC_ERROR_CODES:
            return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, valid_data_accepted, negative_data_rejection]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# The coverage phase (deterministic boundary cases) is not run: the budget goes to generated cases.
schema.config.phases.coverage.enabled = False
# NUL characters are refused everywhere (core/parsers.py, core/middleware.py) and tested on their own
# (tests/api/test_api_edge.py): generating them here would only find that refusal again.
schema.config.generation.update(with_security_parameters=False, allow_x00=False)

# What the seed fixture made, for the generation hooks (they run inside the test, after the fixture).
SEEDED: dict = {}


def _sometimes(original: dict, seeded: dict) -> st.SearchStrategy:
    return st.sampled_from([original, {**original, **seeded}, {**original, **seeded}])


def _plain(name: str, value) -> bool:
    """A generated path value that is already valid (a negative case's broken value is kept as it is)."""
    if name == "token":
        return isinstance(value, str)
    if name == "ons_code":
        return isinstance(value, str) and re.fullmatch(r"[A-Za-z][0-9]{8}", value) is not None
    return isinstance(value, str) and re.fullmatch(r"[0-9]+", value) is not None or type(value) is int and value >= 0


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not SEEDED or not path_parameters or not all(_plain(name, value) for name, value in path_parameters.items()):
        return st.just(path_parameters)
    path = context.operation.path
    known = {}
    for name in path_parameters:
        if name == "token":
            known[name] = SEEDED["challenge"] if path.startswith("/api/challenges/") else (
                SEEDED["volunteer_token"] if path.startswith("/api/volunteers/") else SEEDED["manage_token"])
        elif name in ("id", "session_id") and path.startswith("/api/sessions/"):
            known[name] = SEEDED["session_id"]
        elif name == "id" and path.startswith("/api/meeting-points/"):
            known[name] = SEEDED["meeting_point_id"]
        elif name == "id" or name == "slot_id":
            known[name] = SEEDED["slot_id"]
        elif name == "booking_id":
            known[name] = SEEDED["booking_id"]
        elif name == "ons_code":
            known[name] = SEEDED["ons_code"]
        elif name == "run_id":
            known[name] = SEEDED.get("run_id", 1)
    return _sometimes(path_parameters, known)


@schema.hook
def flatmap_body(context, body):
    if (SEEDED and context.operation.path == "/api/challenges/{token}/verify/" and isinstance(body, dict)
            and isinstance(body.get("code"), str) and body["code"].isascii() and body["code"].isdigit()):
        return _sometimes(body, {"code": SEEDED["code"]})
    return st.just(body)


@pytest.fixture
def seeded(seat, postcode, host, django_capture_on_commit_callbacks):
    coordinator = UserFactory(username="coord", is_staff=True)
    room = MeetingPointFactory(host=host, seat=seat, postcode="S10 1AA")
    start = timezone.now() + timedelta(days=2)
    slot = SlotFactory(session__meeting_point=room, session__starts_at=start, capacity=3)
    SlotFactory(session=slot.session, starts_at=start + timedelta(hours=3), ends_at=start + timedelta(hours=5))
    booked = booking_ask(slot_id=slot.id, name="Ann Volunteer", phone="+447400900001", postcode="S10 1AA")
    asked = booking_ask(slot_id=slot.id, name="Ben Volunteer", phone="+447400900002", postcode="S10 1AA")
    SEEDED.clear()
    SEEDED.update(
        ons_code=seat.ons_code, meeting_point_id=room.id, session_id=slot.session_id, slot_id=slot.id,
        booking_id=booked.booking.id, manage_token=booked.booking.manage_token, challenge=asked.token,
        code=texted_code(asked.token), volunteer_token="none-yet",
        tokens={"anonymous": None, "host": token_for(host), "coordinator": token_for(coordinator)},
    )
    counts = _row_counts()
    yield SEEDED
    SEEDED.clear()
    assert _row_counts() == counts, "a request's writes outlived its savepoint"


def _row_counts() -> dict:
    from django.apps import apps

    return {label: apps.get_model(label).objects.count()
            for label in ("canvass.CanvassSession", "canvass.Slot", "volunteers.Booking", "volunteers.Volunteer",
                          "volunteers.BookingEvent", "sms.SmsMessage", "dispatch.AssignmentRun")}


@pytest.fixture
def in_process():
    """The WSGI handler closes the connection after each request unless told otherwise (as Django's test client
    does): that would close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def raised_limits(settings):
    # Raised, not off: the limiter still runs (and counts in Redis) on every request.
    settings.RATE_LIMITS = {scope: "1000000/h" for scope in settings.RATE_LIMITS}


def _twilio_signed(case, settings) -> None:
    """Sign two webhook cases in three as Twilio would (the rest test the 403): over the public URL and the form
    fields as sent."""
    generated = str((case.headers or {}).get("X-Twilio-Signature", ""))
    if len(generated) % 3 == 0 or not isinstance(case.body, dict):
        return
    fields = {str(key): value if isinstance(value, str) else str(value) for key, value in case.body.items()}
    url = settings.SMS_WEBHOOK_BASE_URL.rstrip("/") + case.formatted_path
    if case.query:
        url += "?" + urlencode(case.query, doseq=True)
    case.headers = {**(case.headers or {}),
                    "X-Twilio-Signature": RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, fields)}


@pytest.fixture
def twilio_signing(settings):
    settings.TWILIO_AUTH_TOKEN = "fuzz-auth-token"
    settings.SMS_WEBHOOK_BASE_URL = "https://frontroom.example"
    return settings


class _RolledBack:
    """A savepoint around one request, taken just before its first statement that is not a plain SELECT (most
    requests write nothing, and SAVEPOINT plus ROLLBACK TO cost two round trips), rolled back afterwards.
    COPY goes to psycopg directly (core.db._copy), past Django's execute wrappers, so it is hooked as well."""

    def __init__(self):
        self.savepoint = None

    def take(self) -> None:
        if self.savepoint is None:
            self.savepoint = ""  # transaction.savepoint() runs through __call__ itself
            self.savepoint = transaction.savepoint()

    def __call__(self, execute, sql, params, many, context):
        if self.savepoint is None and not sql.lstrip()[:6].upper() == "SELECT":
            self.take()
        return execute(sql, params, many, context)

    def __enter__(self):
        self.savepoint = None
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)
        if self.savepoint:
            transaction.savepoint_rollback(self.savepoint)
        elif connection.connection.info.transaction_status == TransactionStatus.INERROR:
            pytest.fail("a read failed and left the test's transaction aborted, with no savepoint to roll back to")


@pytest.fixture
def rolled_back(monkeypatch):
    import core.db

    guard = _RolledBack()
    copy = core.db._copy

    def copy_after_savepoint(*args, **kwargs):
        guard.take()
        return copy(*args, **kwargs)

    monkeypatch.setattr(core.db, "_copy", copy_after_savepoint)
    return guard


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case, seeded, raised_limits, in_process, twilio_signing,
                                                     rolled_back):
    if case.operation.path.startswith("/twilio/"):
        _twilio_signed(case, twilio_signing)
    for role in ROLES:
        token = seeded["tokens"][role]
        with rolled_back:
            case.call_and_validate(headers={"Authorization": f"Token {token}"} if token else {}, checks=CHECKS)

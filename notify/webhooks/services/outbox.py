"""The webhook outbox: a delivery row per (event, endpoint) written with the booking change, then delivered at
least once by Celery, each delivery its own task, so a slow or failing endpoint holds up no other."""

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
import urllib3
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.broker import enqueue
from notify.outbox import Outbox, attempt_failed, row_enqueue, row_retry, rows_requeue_stuck
from notify.outbox import retry_delay as outbox_retry_delay
from notify.registry import channel_register
from notify.webhooks.conf import webhook_setting
from notify.webhooks.models import (
    EVENT_TYPES,
    PROVEN_TYPE,
    WebhookDelivery,
    WebhookEndpoint,
    delivery_webhook_id,
)
from notify.webhooks.network import AddressNotAllowed, session_new, url_problem
from notify.webhooks.payloads import BOOKING_RELATED, EVENT_RELATED, payload_render, proven_payload_render
from notify.webhooks.signing import headers_sign
from volunteers.events import RecordedEvent
from volunteers.models import Booking, BookingEvent

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
USER_AGENT = "Frontroom-Webhooks/1"
BATCH = 50

# --- Recording, inside the booking change's transaction ---------------------------------------------------

# One statement, whatever the number of endpoints (none, usually): the booking pays for this insert and nothing
# else. Endpoints that are disabled or do not want this type get no row. Positional parameters and a type list
# rendered once: this runs in every booking's transaction.
_RECORD_ONE_SQL = """
INSERT INTO webhooks_webhookdelivery (event_id, endpoint_id, event_type, status, attempts, body, response_body,
                                      error, created_at, updated_at)
SELECT %s, e.id, %s, 'pending', 0, '', '', '', %s, %s FROM webhooks_webhookendpoint e
 WHERE e.enabled AND e.event_types @> %s::jsonb
ON CONFLICT (event_id, endpoint_id) DO NOTHING
RETURNING id, endpoint_id
"""
_RECORD_MANY_SQL = """
INSERT INTO webhooks_webhookdelivery (event_id, endpoint_id, event_type, status, attempts, body, response_body,
                                      error, created_at, updated_at)
SELECT ev.id, e.id, %s, 'pending', 0, '', '', '', %s, %s
  FROM webhooks_webhookendpoint e CROSS JOIN unnest(%s::bigint[]) AS ev(id)
 WHERE e.enabled AND e.event_types @> %s::jsonb
ON CONFLICT (event_id, endpoint_id) DO NOTHING
RETURNING id, endpoint_id
"""
_TYPE_ARRAYS = {kind: (name, json.dumps([name])) for kind, name in EVENT_TYPES.items()}
# A booking's proof: no event, so the row names the booking (event_id stays NULL) under its own unique key.
_RECORD_PROVEN_SQL = f"""
INSERT INTO webhooks_webhookdelivery (booking_id, endpoint_id, event_type, status, attempts, body, response_body,
                                      error, created_at, updated_at)
SELECT %s, e.id, '{PROVEN_TYPE}', 'pending', 0, '', '', '', %s, %s FROM webhooks_webhookendpoint e
 WHERE e.enabled AND e.event_types @> '{json.dumps([PROVEN_TYPE])}'::jsonb
ON CONFLICT (booking_id, endpoint_id, event_type) WHERE event_id IS NULL DO NOTHING
RETURNING id, endpoint_id
"""


def _rows_insert(event_ids: list[int], kind: str) -> list[tuple[int, int]]:
    """Write the pending deliveries of these events (all of one kind); (delivery id, endpoint id) of those written."""
    # bench/webhooks.py --bookings (in git history): one INSERT ... SELECT over the endpoints; a booking with one
    # endpoint cost 8.96 ms of CPU against 8.25 with none, 15 statements either way (BENCHMARKS.md "Webhooks: what a
    # booking pays"); no side-by-side figure against the ORM's per-endpoint inserts.
    event_type, type_array = _TYPE_ARRAYS.get(kind) or (f"booking.{kind}", json.dumps([f"booking.{kind}"]))
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if len(event_ids) == 1:
                cursor.execute(_RECORD_ONE_SQL, (event_ids[0], event_type, now, now, type_array))
            else:
                cursor.execute(_RECORD_MANY_SQL, (event_type, now, now, event_ids, type_array))
            return cursor.fetchall()
    # SQLite (make run): a few endpoints at most, filtered here.
    endpoints = [pk for pk, types in WebhookEndpoint.objects.filter(enabled=True).values_list("id", "event_types")
                 if event_type in (types or [])]
    written = []
    for event_id in event_ids:
        for endpoint_id in endpoints:
            delivery, created = WebhookDelivery.objects.get_or_create(
                event_id=event_id, endpoint_id=endpoint_id, defaults={"event_type": event_type})
            if created:
                written.append((delivery.pk, endpoint_id))
    return written


def deliveries_record_for_event(*, event: BookingEvent) -> int:
    """Signal receiver body: the event's deliveries, one per enabled endpoint that wants its type, in the event's
    transaction; their tasks are enqueued on commit. Idempotent per (event, endpoint). Returns how many."""
    written = _rows_insert([event.pk], event.kind)
    if written:
        transaction.on_commit(lambda: [delivery_enqueue(pk) for pk, _ in written])
    return len(written)


def deliveries_record_for_proof(*, booking) -> int:
    """Signal receiver body (booking_proven), in the proof's transaction: a booking.proven delivery per enabled endpoint that wants it, in one INSERT ... SELECT, their
    tasks enqueued on commit. Idempotent per (booking, endpoint): a phone is proven once. Returns how many."""
    # As _rows_insert: one INSERT ... SELECT (BENCHMARKS.md "Webhooks: what a booking pays").
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_RECORD_PROVEN_SQL, (booking.pk, now, now))
            written = cursor.fetchall()
    else:  # SQLite (make run): a few endpoints at most, filtered here.
        written = []
        for endpoint_id, types in WebhookEndpoint.objects.filter(enabled=True).values_list("id", "event_types"):
            if PROVEN_TYPE in (types or []):
                delivery, created = WebhookDelivery.objects.get_or_create(
                    event=None, booking_id=booking.pk, endpoint_id=endpoint_id, event_type=PROVEN_TYPE)
                if created:
                    written.append((delivery.pk, endpoint_id))
    if written:
        transaction.on_commit(lambda: [delivery_enqueue(pk) for pk, _ in written])
    return len(written)


def deliveries_record_for_events(*, events: list[BookingEvent | RecordedEvent]) -> int:
    """Bulk signal receiver body (an assignment commit): the same rows in one statement per kind, their tasks
    enqueued on commit in batches that each hold one endpoint's deliveries."""
    by_kind = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event.id if isinstance(event, RecordedEvent) else event.pk)
    written = [row for kind, ids in by_kind.items() for row in _rows_insert(ids, kind)]
    if written:
        transaction.on_commit(lambda: deliveries_enqueue_batches(written))
    return len(written)


def delivery_enqueue(delivery_id: int, *, countdown: float | None = None) -> None:
    """Hand a delivery to Celery; if the broker is down the sweep picks the row up later."""
    # A booking must not hang on a dead broker (core.broker.enqueue); the row is safe in the database.
    row_enqueue(OUTBOX, delivery_id, countdown=countdown)


def deliveries_enqueue_batches(rows: list[tuple[int, int]]) -> None:
    """Many deliveries, a task per BATCH of one endpoint's: an endpoint that times out delays only its own."""
    from notify.tasks import send_batch

    by_endpoint = defaultdict(list)
    for delivery_id, endpoint_id in rows:
        by_endpoint[endpoint_id].append(delivery_id)
    for ids in by_endpoint.values():
        for start in range(0, len(ids), BATCH):
            if not enqueue(send_batch, (OUTBOX.name, ids[start:start + BATCH]),
                           what=f"{len(ids) - start} webhook deliveries"):
                return  # covered by the sweep


# --- Delivering -----------------------------------------------------------------------------------------

# Claims a due pending row of an enabled endpoint, or takes over one a dead worker left "delivering", and
# returns what the attempt needs. No row: not due, already delivered, someone else's, or the endpoint is
# disabled (its rows wait until a coordinator enables it). Portable to SQLite, hence the subqueries.
_CLAIM_SQL = """
UPDATE webhooks_webhookdelivery SET status = 'delivering', attempts = attempts + 1, started_at = %(now)s,
       updated_at = %(now)s
 WHERE id = %(id)s
   AND ((status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
        OR (status = 'delivering' AND started_at < %(stale)s))
   AND EXISTS (SELECT 1 FROM webhooks_webhookendpoint e WHERE e.id = webhooks_webhookdelivery.endpoint_id
                                                          AND e.enabled)
RETURNING event_id, booking_id, endpoint_id, attempts, body,
   (SELECT e.url FROM webhooks_webhookendpoint e WHERE e.id = webhooks_webhookdelivery.endpoint_id),
   (SELECT e.secret FROM webhooks_webhookendpoint e WHERE e.id = webhooks_webhookdelivery.endpoint_id),
   (SELECT e.previous_secret FROM webhooks_webhookendpoint e WHERE e.id = webhooks_webhookdelivery.endpoint_id),
   (SELECT e.previous_secret_until FROM webhooks_webhookendpoint e
     WHERE e.id = webhooks_webhookdelivery.endpoint_id),
   (SELECT e.include_personal_data FROM webhooks_webhookendpoint e
     WHERE e.id = webhooks_webhookdelivery.endpoint_id),
   (SELECT e.consecutive_failures FROM webhooks_webhookendpoint e
     WHERE e.id = webhooks_webhookdelivery.endpoint_id)
"""


@dataclass(frozen=True)
class _Claim:
    pk: int
    event_id: int | None
    booking_id: int | None  # a booking's proof, which has no event
    endpoint_id: int
    attempts: int
    body: str
    url: str
    secrets: tuple[str, ...]
    personal: bool
    endpoint_failures: int


def _claim_row(delivery_id: int, now, stale) -> tuple | None:
    """Mark the row delivering if it is due (or stale) and its endpoint enabled; what the attempt needs, or None."""
    adapt = connection.ops.adapt_datetimefield_value
    # Hand-written, measured: bench/sql_vs_orm.py webhook_claim found the ORM's update() then values_list() 7.4x
    # this statement's CPU. On a quiet machine (bench/outbox.py --channel webhooks, 7 Dec 2026, one after the other)
    # the ORM claim cost the worker 6.83 ms a delivery against 5.64 ms with this statement, 15% of a delivery's
    # 7.8 ms of CPU, and 205 deliveries/s against 246: at the 15% bar (BENCHMARKS.md "Hand-written statements vs
    # the ORM"), so the statement came back.
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"id": delivery_id, "now": adapt(now), "stale": adapt(stale)})
        return cursor.fetchone()


def _claim(delivery_id: int) -> _Claim | None:
    now = timezone.now()
    row = _claim_row(delivery_id, now, now - timedelta(seconds=webhook_setting("WEBHOOK_DELIVERING_STALE_SECONDS")))
    if row is None:
        return None
    event_id, booking_id, endpoint_id, attempts, body, url, secret, previous, previous_until, personal, failures = row
    if previous_until is not None and not isinstance(previous_until, type(now)):
        previous_until = connection.ops.convert_datetimefield_value(previous_until, None, connection)
    secrets = (secret, previous) if previous and previous_until and previous_until > now else (secret,)
    return _Claim(pk=delivery_id, event_id=event_id, booking_id=booking_id, endpoint_id=endpoint_id, attempts=attempts, body=body, url=url,
                  secrets=secrets, personal=bool(personal), endpoint_failures=failures)


def _body(claim: _Claim) -> str:
    """The body this delivery sends at every attempt: rendered and stored at the first."""
    if claim.body:
        return claim.body
    if claim.event_id is None:
        booking = Booking.objects.select_related(*BOOKING_RELATED).get(pk=claim.booking_id)
        body = proven_payload_render(booking, personal=claim.personal)
    else:
        event = BookingEvent.objects.select_related(*EVENT_RELATED).get(pk=claim.event_id)
        body = payload_render(event, personal=claim.personal)
    if not WebhookDelivery.objects.filter(pk=claim.pk, body="").update(body=body):
        body = WebhookDelivery.objects.values_list("body", flat=True).get(pk=claim.pk)  # a racing attempt's
    return body


_sessions = threading.local()


def _session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = session_new()
    return session


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    retry: bool = False
    gone: bool = False
    status: int | None = None
    error: str = ""
    response_body: str = ""
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None


RETRYABLE_STATUSES = {408, 429}


def _outcome_of(response: requests.Response) -> _Outcome:
    code = response.status_code
    # Only the start of the answer is read (and kept): a receiver cannot make a worker hold a large body.
    text = response.raw.read(1024, decode_content=True).decode("utf-8", "replace")[:300]
    if 200 <= code < 300:
        return _Outcome(delivered=True, status=code, response_body=text)
    if code == 410:
        return _Outcome(delivered=False, gone=True, status=code, error="410 Gone: the receiver wants no more.",
                        response_body=text)
    if 300 <= code < 400:
        return _Outcome(delivered=False, status=code, response_body=text,
                        error=f"{code}: redirects are not followed; register the URL it points to.")
    retry = code >= 500 or code in RETRYABLE_STATUSES
    return _Outcome(delivered=False, retry=retry, status=code, error=f"HTTP {code}", response_body=text,
                    retry_after=_retry_after(response.headers.get("Retry-After")) if retry else None)


def _attempt(claim: _Claim, body: str) -> tuple[_Outcome, int]:
    problem = url_problem(claim.url, resolve_host=False)
    if problem:
        return _Outcome(delivered=False, error=problem), 0
    msg_id = delivery_webhook_id(event_id=claim.event_id, booking_id=claim.booking_id)
    headers = headers_sign(secret=claim.secrets[0], msg_id=msg_id, body=body)
    if len(claim.secrets) > 1:  # during a rotation: signed with the old secret too, space-separated
        extra = headers_sign(secret=claim.secrets[1], msg_id=msg_id, body=body,
                             timestamp=int(headers["webhook-timestamp"]))
        headers["webhook-signature"] += " " + extra["webhook-signature"]
    headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
    timeout = (webhook_setting("WEBHOOK_CONNECT_TIMEOUT"), webhook_setting("WEBHOOK_READ_TIMEOUT"))
    started = time.monotonic()
    try:
        with _session().post(claim.url, data=body.encode("utf-8"), headers=headers, timeout=timeout,
                             allow_redirects=False, stream=True) as response:
            outcome = _outcome_of(response)
    except AddressNotAllowed as exc:
        outcome = _Outcome(delivered=False, error=str(exc)[:300])
    except requests.Timeout as exc:
        outcome = _Outcome(delivered=False, retry=True, error=f"Timed out: {exc}"[:300])
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:  # reading the answer: urllib3's
        outcome = _Outcome(delivered=False, retry=True, error=f"{type(exc).__name__}: {exc}"[:300])
    return outcome, int((time.monotonic() - started) * 1000)


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: the receiver's Retry-After if it gave one, else exponential back-off
    with jitter; never more than WEBHOOK_RETRY_MAX_SECONDS."""
    return outbox_retry_delay(OUTBOX, attempts, retry_after)


def _endpoint_failed(endpoint_id: int, *, gone: bool) -> None:
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    reason = WebhookEndpoint.DisabledReason
    if gone:
        disabled = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(
            enabled=False, disabled_reason=reason.GONE, disabled_at=now, updated_at=now)
    else:
        disabled = WebhookEndpoint.objects.filter(
            pk=endpoint_id, enabled=True,
            consecutive_failures__gte=webhook_setting("WEBHOOK_DISABLE_AFTER_FAILURES"),
        ).update(enabled=False, disabled_reason=reason.FAILING, disabled_at=now, updated_at=now)
    if disabled:
        logger.warning("webhook endpoint %s disabled (%s)", endpoint_id, "410 Gone" if gone else "failing")


def delivery_send(*, delivery_id: int) -> str:
    """Deliver one row: claim it, POST the signed body, record the answer. At least once: a worker that dies
    mid-POST leaves the row "delivering" for the sweep to hand on, and the receiver dedupes by webhook-id. A
    duplicate task finds nothing to claim. Network errors, timeouts, 5xx, 408 and 429 are retried with back-off
    until WEBHOOK_MAX_ATTEMPTS; other answers fail the delivery at once. Returns the outcome."""
    claim = _claim(delivery_id)
    if claim is None:
        return "not_due"
    try:
        body = _body(claim)
    except (BookingEvent.DoesNotExist, Booking.DoesNotExist):
        return "gone"  # the event was deleted with its booking; the delivery row went with it
    outcome, duration = _attempt(claim, body)
    now = timezone.now()
    answer = {"response_status": outcome.status, "response_body": outcome.response_body, "duration_ms": duration}
    if outcome.delivered:
        WebhookDelivery.objects.filter(pk=claim.pk, status=Status.DELIVERING, attempts=claim.attempts).update(
            status=Status.DELIVERED, delivered_at=now, next_attempt_at=None, error="", updated_at=now, **answer)
        if claim.endpoint_failures:  # as read by the claim: a healthy endpoint costs no statement here
            WebhookEndpoint.objects.filter(pk=claim.endpoint_id).update(consecutive_failures=0)
        return "delivered"
    _endpoint_failed(claim.endpoint_id, gone=outcome.gone)
    result = attempt_failed(OUTBOX, row_id=claim.pk, attempts=claim.attempts, transient=outcome.retry,
                            message=outcome.error, error=lambda text: {"error": text}, record=answer,
                            retry_after=outcome.retry_after, match={"attempts": claim.attempts},
                            enqueue=delivery_enqueue)
    if result == "failed":
        logger.warning("webhook delivery %s failed: %s", claim.pk, outcome.error)
    return result


# --- Safety nets and coordinators' actions --------------------------------------------------------------


def deliveries_requeue_stuck(*, grace: timedelta = timedelta(seconds=30), stale_after: timedelta | None = None,
                             limit: int = 2000) -> int:
    """Re-enqueue deliveries whose task was lost (broker down at commit, a countdown dropped) or whose worker died
    mid-POST, for enabled endpoints. Safe to repeat: each task claims its row."""
    return rows_requeue_stuck(OUTBOX, grace=grace, stale_after=stale_after, limit=limit)


@transaction.atomic
def delivery_redeliver(*, delivery_id: int) -> bool:
    """Coordinator action: send a delivered or failed delivery again, the same body under the same webhook-id (the
    receiver's dedupe sees a replay), with a fresh attempt budget."""
    return row_retry(OUTBOX, row_id=delivery_id, statuses=[Status.DELIVERED, Status.FAILED],
                     clear={"attempts": 0, "error": ""})


def deliveries_export_for_volunteer(*, volunteer_id: int) -> list[dict]:
    """For the volunteer's data export: each delivery about their bookings, with what it carried (the body) and to
    whom (the receiver's host name only: a URL's path can be a secret, as the signing secret is). Read-only."""
    mine = Q(event__booking__volunteer_id=volunteer_id) | Q(booking__volunteer_id=volunteer_id)
    rows = []
    for delivery in WebhookDelivery.objects.filter(mine).select_related("endpoint").order_by("pk"):
        try:
            body = json.loads(delivery.body) if delivery.body else None
        except ValueError:
            body = delivery.body
        rows.append({"id": delivery.pk, "event_type": delivery.event_type, "booking_id": delivery.booking_id,
                     "event_id": delivery.event_id, "receiver": urlsplit(delivery.endpoint.url).hostname,
                     "status": delivery.status, "attempts": delivery.attempts,
                     "response_status": delivery.response_status, "created_at": delivery.created_at,
                     "delivered_at": delivery.delivered_at, "body": body})
    return rows


def deliveries_erase_for_volunteer(*, volunteer_id: int) -> int:
    """Inside the erasing transaction: blank the bodies of the volunteer's deliveries. Those still waiting (the
    cancellations the erasure itself just caused among them) are rendered again when they go, from the erased
    volunteer: identifiers only, so the receiver still learns the booking ended. What was delivered already is in
    the receiver's hands (docs/webhooks.md). Safe to repeat."""
    mine = Q(event__booking__volunteer_id=volunteer_id) | Q(booking__volunteer_id=volunteer_id)
    return (WebhookDelivery.objects.filter(mine).exclude(body="", response_body="")
            .update(body="", response_body="", updated_at=timezone.now()))


OUTBOX = channel_register(Outbox(
    name="webhooks", model=WebhookDelivery, setting=webhook_setting, prefix="WEBHOOK", what="webhook delivery",
    send=lambda delivery_id: delivery_send(delivery_id=delivery_id), sent="delivered",
    erase=lambda volunteer_id: deliveries_erase_for_volunteer(volunteer_id=volunteer_id),
    # Late-bound: a test that patches this module's delivery_enqueue sees every enqueue.
    enqueue=lambda delivery_id, countdown=None: delivery_enqueue(delivery_id, countdown=countdown),
    in_flight=Status.DELIVERING, started_field="started_at", stale_setting="WEBHOOK_DELIVERING_STALE_SECONDS",
    sweep_filter=Q(endpoint__enabled=True),
))

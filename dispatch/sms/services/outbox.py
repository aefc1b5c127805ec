"""The SMS outbox: rows written with the booking change, sent once by Celery, tracked by status callbacks."""

import contextvars
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from core.db import insert_or_get
from dispatch.sms.backends import (
    INVALID_NUMBER_CODES,
    OPTED_OUT_CODES,
    SendError,
    backend_get,
    sender_key,
)
from dispatch.sms.conf import sms_setting
from dispatch.sms.models import SmsMessage
from dispatch.sms.ratelimit import send_slot_wait
from dispatch.sms.segments import segments_count
from dispatch.sms.texts import booking_text
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.services import volunteer_sms_flags_set

logger = logging.getLogger(__name__)

Status = SmsMessage.Status
RANK = SmsMessage.RANK

# Booking events that produce a message; attendance_confirmed is answered by the reply itself.
EVENT_KINDS = {
    BookingEvent.Kind.CONFIRMED, BookingEvent.Kind.WAITLISTED, BookingEvent.Kind.PROMOTED,
    BookingEvent.Kind.REDIRECTED, BookingEvent.Kind.SESSION_CANCELLED, BookingEvent.Kind.CANCELLED,
}
REMINDER_KINDS = {SmsMessage.Kind.REMINDER_DAY_BEFORE, SmsMessage.Kind.REMINDER_SOON}

BOOKING_RELATED = (
    "volunteer", "slot__session__meeting_point", "slot__session__seat",
    "redirected_to__slot__session__meeting_point", "redirected_to__slot__session__seat",
)

# Booking ids whose cancellation is being answered by a TwiML reply, so no second SMS goes out.
_answered_by_reply: contextvars.ContextVar[frozenset] = contextvars.ContextVar("sms_answered_by_reply", default=frozenset())


@contextmanager
def answered_by_reply(booking_id: int) -> Iterator[None]:
    token = _answered_by_reply.set(_answered_by_reply.get() | {booking_id})
    try:
        yield
    finally:
        _answered_by_reply.reset(token)


def volunteer_skip_reason(volunteer: Volunteer) -> str:
    if volunteer.sms_opted_out:
        return "opted_out"
    if volunteer.phone_invalid:
        return "phone_invalid"
    if not volunteer.consent_sms:
        return "no_consent"
    return ""


def status_callback_url() -> str:
    return sms_setting("SMS_WEBHOOK_BASE_URL").rstrip("/") + reverse("sms-status")


def message_enqueue(message_id: int, *, countdown: float | None = None) -> None:
    """Hand a message to Celery; if the broker is down the sweep picks the row up later."""
    from dispatch.sms.tasks import message_send

    try:
        # retry=False: a request must not hang on a dead broker; the row is safe in PostgreSQL.
        message_send.apply_async((message_id,), countdown=countdown, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure is covered by the sweep
        logger.warning("could not enqueue SMS %s; the outbox sweep will retry", message_id, exc_info=True)


def message_record(*, booking: Booking, kind: str, version: int, skip_reason: str = "") -> SmsMessage:
    """Write the outbox row for (booking, kind, version) in the caller's transaction; its send is enqueued on commit.

    Idempotent: the same key never produces a second row. A volunteer who cannot be texted gets a
    row with status "skipped" and the reason, so coordinators can see why nothing was sent.
    """
    message, created = insert_or_get(_message_row(booking=booking, kind=kind, version=version, skip_reason=skip_reason),
                                     unique_fields=("booking", "kind", "version"))
    if created and message.status == Status.PENDING:
        transaction.on_commit(lambda: message_enqueue(message.pk))
    return message


def _message_row(*, booking: Booking, kind: str, version: int, skip_reason: str = "") -> SmsMessage:
    """The unsaved outbox row for (booking, kind, version): rendered text, segments, and why it is skipped, if it is."""
    body = booking_text(kind=kind, booking=booking, minutes=sms_setting("SMS_REMINDER_SOON_MINUTES"))
    count = segments_count(body)
    volunteer = booking.volunteer
    reason = skip_reason or volunteer_skip_reason(volunteer)
    status = Status.SKIPPED if reason else Status.PENDING
    return SmsMessage(
        booking=booking, kind=kind, version=version, volunteer=volunteer, to=volunteer.phone, body=body,
        encoding=count.encoding, segments=count.segments, status=status, status_rank=RANK[status], skip_reason=reason,
    )


def _is_messaged(event: BookingEvent) -> bool:
    if event.kind not in EVENT_KINDS:
        return False
    # A redirect's new booking is announced by the booking_redirected message on the old one.
    return not (event.kind == BookingEvent.Kind.CONFIRMED and event.payload.get("source") == "redirect")


def messages_record_for_events(*, events: list[BookingEvent]) -> int:
    """Bulk signal receiver body: the outbox rows for many events (an assignment commit) in a few statements,
    inside the events' transaction; their sends are enqueued in batches on commit. Idempotent per key."""
    events = [event for event in events if _is_messaged(event)]
    if not events:
        return 0
    bookings = [event.booking for event in events]
    redirects = any(event.kind == BookingEvent.Kind.REDIRECTED for event in events)
    prefetch_related_objects(bookings, *(BOOKING_RELATED if redirects else BOOKING_RELATED[:3]))
    rows = [_message_row(booking=event.booking, kind=event.kind, version=event.version) for event in events]
    SmsMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    ids = []
    for start in range(0, len(events), 5000):
        chunk = events[start:start + 5000]
        ids += SmsMessage.objects.filter(
            booking_id__in=[event.booking_id for event in chunk], kind__in={event.kind for event in chunk},
            status=Status.PENDING,
        ).values_list("pk", flat=True)
    transaction.on_commit(lambda: messages_enqueue_batches(ids))
    return len(rows)


def messages_enqueue_batches(ids: list[int], *, size: int = 50) -> None:
    """Hand many messages to Celery, a batch per task; if the broker is down the sweep picks the rows up later."""
    from dispatch.sms.tasks import messages_send_batch

    for start in range(0, len(ids), size):
        try:
            messages_send_batch.apply_async((ids[start:start + size],), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure is covered by the sweep
            logger.warning("could not enqueue %d SMS; the outbox sweep will retry", len(ids) - start, exc_info=True)
            return


def message_record_for_event(*, event: BookingEvent) -> SmsMessage | None:
    """Signal receiver body: write the SMS for a booking event inside the event's transaction. Idempotent."""
    if not _is_messaged(event):
        return None
    # The service that recorded the event hands over the booking it just changed, usually with its
    # slot, session, meeting point and seat loaded; fetch only what is missing. (A single query joining
    # all nine tables cost more to plan than the rest of the booking.)
    booking = event.booking
    related = BOOKING_RELATED if event.kind == BookingEvent.Kind.REDIRECTED else BOOKING_RELATED[:3]
    prefetch_related_objects([booking], *related)
    reason = ""
    if event.kind == BookingEvent.Kind.CANCELLED and event.booking_id in _answered_by_reply.get():
        reason = "answered_by_reply"
    return message_record(booking=booking, kind=event.kind, version=event.version, skip_reason=reason)


def in_quiet_hours(moment=None) -> bool:
    local = timezone.localtime(moment or timezone.now()).time()
    start, end = sms_setting("SMS_QUIET_HOURS_START"), sms_setting("SMS_QUIET_HOURS_END")
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def _claim(message_id: int) -> tuple[bool, bool]:
    """Claim a message for sending: (claimed, a previous attempt was interrupted)."""
    now = timezone.now()
    claimed = SmsMessage.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), pk=message_id, status=Status.PENDING,
    ).update(status=Status.SENDING, status_rank=RANK[Status.SENDING], send_started_at=now,
             attempts=F("attempts") + 1, updated_at=now)
    if claimed:
        return True, False
    # A worker died mid-send (kill -9, lost node): take the row over, but look before resending.
    stale = now - timedelta(seconds=sms_setting("SMS_SENDING_STALE_SECONDS"))
    claimed = SmsMessage.objects.filter(pk=message_id, status=Status.SENDING, send_started_at__lt=stale).update(
        send_started_at=now, attempts=F("attempts") + 1, updated_at=now,
    )
    return bool(claimed), bool(claimed)


def _finish(message_id: int, **fields) -> bool:
    status = fields["status"]
    fields.update(status_rank=RANK[status], updated_at=timezone.now(), next_attempt_at=None)
    return bool(SmsMessage.objects.filter(pk=message_id, status=Status.SENDING).update(**fields))


def _already_sent_sid(message: SmsMessage, backend) -> str | None:
    for sid in backend.find(to=message.to, body=message.body, since=message.created_at):
        if not SmsMessage.objects.filter(twilio_sid=sid).exclude(pk=message.pk).exists():
            return sid
    return None


def _retry_delay(attempts: int) -> float:
    base, cap = sms_setting("SMS_RETRY_BASE_SECONDS"), sms_setting("SMS_RETRY_MAX_SECONDS")
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter


def volunteer_flags_for_error(*, volunteer_id: int, code: int | None) -> None:
    """Record what a Twilio error says about the number: invalid (21211, 21614, 30005, 30006) or opted out (21610)."""
    if code in INVALID_NUMBER_CODES:
        volunteer_sms_flags_set(volunteer_id=volunteer_id, phone_invalid=True)
    elif code in OPTED_OUT_CODES:
        volunteer_sms_flags_set(volunteer_id=volunteer_id, opted_out=True)


def _send_failed(message: SmsMessage, exc: SendError) -> str:
    now = timezone.now()
    if exc.transient and message.attempts < sms_setting("SMS_MAX_ATTEMPTS"):
        delay = _retry_delay(message.attempts)
        SmsMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.PENDING, status_rank=RANK[Status.PENDING], next_attempt_at=now + timedelta(seconds=delay),
            error_code=exc.code, error_message=exc.message, updated_at=now,
        )
        message_enqueue(message.pk, countdown=delay)
        return "retrying"
    text = exc.message if not exc.transient else f"Gave up after {message.attempts} attempts: {exc.message}"
    _finish(message.pk, status=Status.FAILED, error_code=exc.code, error_message=text[:300])
    volunteer_flags_for_error(volunteer_id=message.volunteer_id, code=exc.code)
    logger.warning("SMS %s failed permanently: %s %s", message.pk, exc.code, exc.message)
    return "failed"


def message_send(*, message_id: int) -> str:
    """Send one outbox message through the configured backend, at most once per row.

    The conditional claim makes a duplicate task a no-op; a retry after an interrupted or failed
    attempt first asks the provider whether it already has the message, and only sends if not.
    Transient errors reschedule the row with backoff; permanent ones mark it failed. Returns the outcome.
    """
    claimed, interrupted = _claim(message_id)
    if not claimed:
        return "not_due"
    message = SmsMessage.objects.select_related("volunteer").get(pk=message_id)
    reason = volunteer_skip_reason(message.volunteer)
    if not reason and message.kind in REMINDER_KINDS and in_quiet_hours():
        reason = "quiet_hours"
    if reason:
        _finish(message_id, status=Status.SKIPPED, skip_reason=reason)
        return "skipped"

    backend = backend_get()
    try:
        sid = _already_sent_sid(message, backend) if (interrupted or message.attempts > 1) else None
        if sid is None:
            send_slot_wait(sender=sender_key(), per_second=sms_setting("SMS_RATE_PER_SECOND"))
            sid = backend.send(to=message.to, body=message.body, status_callback=status_callback_url()).sid
    except SendError as exc:
        return _send_failed(message, exc)
    if not _finish(message_id, status=Status.QUEUED, twilio_sid=sid, accepted_at=timezone.now(),
                   error_code=None, error_message=""):
        logger.error("SMS %s was sent as %s but the row was no longer being sent", message_id, sid)
    return "sent"


def messages_requeue_stuck(*, grace: timedelta = timedelta(seconds=30), stale_after: timedelta | None = None,
                           limit: int = 2000) -> int:
    """Re-enqueue messages whose task was lost (broker down at commit) or whose worker died mid-send. Safe to repeat."""
    now = timezone.now()
    if stale_after is None:
        stale_after = timedelta(seconds=sms_setting("SMS_SENDING_STALE_SECONDS"))
    due = Q(status=Status.PENDING, updated_at__lt=now - grace) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - grace)
    )
    stuck = Q(status=Status.SENDING, send_started_at__lt=now - stale_after)
    ids = list(SmsMessage.objects.filter(due | stuck).order_by("id").values_list("id", flat=True)[:limit])
    for message_id in ids:
        message_enqueue(message_id)
    return len(ids)


@transaction.atomic
def message_retry(*, message_id: int) -> bool:
    """Coordinator action: send a failed or skipped message again (a lookup first avoids a double send)."""
    message = SmsMessage.objects.select_for_update().select_related("volunteer").get(pk=message_id)
    if message.status not in (Status.FAILED, Status.SKIPPED) or message.twilio_sid:
        return False
    SmsMessage.objects.filter(pk=message_id).update(
        status=Status.PENDING, status_rank=RANK[Status.PENDING], next_attempt_at=None, skip_reason="",
        updated_at=timezone.now(),
    )
    transaction.on_commit(lambda: message_enqueue(message_id))
    return True


# Twilio's message states, folded onto ours.
TWILIO_STATUSES = {
    "accepted": Status.QUEUED, "scheduled": Status.QUEUED, "queued": Status.QUEUED, "sending": Status.QUEUED,
    "sent": Status.SENT, "delivered": Status.DELIVERED, "read": Status.DELIVERED,
    "partially_delivered": Status.DELIVERED, "undelivered": Status.UNDELIVERED, "failed": Status.FAILED,
    "canceled": Status.FAILED,
}


def message_status_record(*, sid: str, status: str, error_code: int | None = None, error_message: str = "") -> bool:
    """Apply a Twilio status callback; a repeated or out-of-order one never moves a message backwards."""
    mapped = TWILIO_STATUSES.get((status or "").strip().lower())
    if mapped is None:
        return False
    fields = {"status": mapped, "status_rank": RANK[mapped], "updated_at": timezone.now()}
    if error_code:
        fields.update(error_code=error_code, error_message=error_message[:300])
    changed = SmsMessage.objects.filter(twilio_sid=sid, status_rank__lt=RANK[mapped]).update(**fields)
    if changed and error_code:
        volunteer_id = SmsMessage.objects.filter(twilio_sid=sid).values_list("volunteer_id", flat=True).first()
        if volunteer_id:
            volunteer_flags_for_error(volunteer_id=volunteer_id, code=error_code)
    return bool(changed)

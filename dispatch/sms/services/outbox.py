"""The SMS outbox: rows written with the booking change, sent once by Celery, tracked by status callbacks."""

import contextvars
import logging
import random
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from core.broker import enqueue
from core.db import any_of, copy_insert_new, insert_or_get
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
from dispatch.sms.services.hosts import (
    HOST_KINDS,
    host_skip_reason,
    host_sms_flags_set,
    host_text_allowed_today,
    host_text_defer,
    quiet_hours_end,
)
from dispatch.sms.texts import booking_text, booking_texts, challenge_text, says_where
from sessions.models import Slot
from volunteers.disclosure import front_rooms_disclose_slot
from volunteers.events import RecordedEvent
from volunteers.models import Booking, BookingEvent, PhoneChallenge, Volunteer
from volunteers.services import volunteer_sms_flags_set

logger = logging.getLogger(__name__)

Status = SmsMessage.Status
RANK = SmsMessage.RANK

# Booking events that produce a message; attendance_confirmed is answered by the reply itself.
EVENT_KINDS = {
    BookingEvent.Kind.CONFIRMED, BookingEvent.Kind.WAITLISTED, BookingEvent.Kind.PROMOTED,
    BookingEvent.Kind.REDIRECTED, BookingEvent.Kind.SESSION_CANCELLED, BookingEvent.Kind.CANCELLED,
    BookingEvent.Kind.VENUE_MOVED, BookingEvent.Kind.SLOT_RESCHEDULED, BookingEvent.Kind.RELEASED,
    BookingEvent.Kind.APPROVED, BookingEvent.Kind.REFUSED,
}
REMINDER_KINDS = {SmsMessage.Kind.REMINDER_DAY_BEFORE, SmsMessage.Kind.REMINDER_SOON}
# Texts a host's act causes (an address or meeting-point edit, a reschedule, a cancelled session, an approval or a
# refusal, and a promotion from the waitlist, which a host can cause by cancelling places they hold themselves):
# they carry the host's own words (title, address, what to bring). A host can put any number on their own session,
# so these go only to a phone that proved it holds the booking (Booking.proven_at), written skipped ("unproven")
# otherwise (its page says it all once proven); and each counts in the number's daily limit (sms_phone_day) at
# its send.
HOST_CAUSED_KINDS = frozenset({
    BookingEvent.Kind.VENUE_MOVED, BookingEvent.Kind.SLOT_RESCHEDULED, BookingEvent.Kind.SESSION_CANCELLED,
    BookingEvent.Kind.APPROVED, BookingEvent.Kind.REFUSED, BookingEvent.Kind.PROMOTED,
})


def host_caused_skip_reason(*, kind: str, proven: bool) -> str:
    """"unproven" for a text a host's act caused about a booking whose phone is not proven, else ""."""
    return "unproven" if kind in HOST_CAUSED_KINDS and not proven else ""

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


def skip_reason_for(*, opted_out: bool, phone_invalid: bool, consent_sms: bool) -> str:
    """Why a volunteer with these flags must not be texted ("" if they may be)."""
    if opted_out:
        return "opted_out"
    if phone_invalid:
        return "phone_invalid"
    if not consent_sms:
        return "no_consent"
    return ""


def volunteer_skip_reason(volunteer: Volunteer) -> str:
    return skip_reason_for(opted_out=volunteer.sms_opted_out, phone_invalid=volunteer.phone_invalid,
                           consent_sms=volunteer.consent_sms)


@lru_cache(maxsize=8)
def _status_callback_url(base_url: str) -> str:
    return base_url.rstrip("/") + reverse("sms-status")


def status_callback_url() -> str:
    return _status_callback_url(sms_setting("SMS_WEBHOOK_BASE_URL"))


def message_enqueue(message_id: int, *, countdown: float | None = None) -> None:
    """Hand a message to Celery; if the broker is down the sweep picks the row up later."""
    from dispatch.sms.tasks import message_send

    # Never waits on a dead broker (core.broker.enqueue); the row is safe in PostgreSQL.
    enqueue(message_send, (message_id,), countdown=countdown, what=f"SMS {message_id}")


def message_record(*, booking: Booking, kind: str, version: int, skip_reason: str = "") -> SmsMessage:
    """Write the outbox row for (booking, kind, version) in the caller's transaction; its send is enqueued on commit.

    Idempotent: the same key never produces a second row. A volunteer who cannot be texted gets a
    row with status "skipped" and the reason, so coordinators can see why nothing was sent.
    """
    return _message_insert(booking=booking, kind=kind, version=version, skip_reason=skip_reason)[0]


def _message_insert(*, booking: Booking, kind: str, version: int, skip_reason: str = "") -> tuple[SmsMessage, bool]:
    message, created = insert_or_get(_message_row(booking=booking, kind=kind, version=version, skip_reason=skip_reason),
                                     unique_fields=("booking", "kind", "version"))
    if created and message.status == Status.PENDING:
        transaction.on_commit(lambda: message_enqueue(message.pk))
    return message, created


def _message_row(*, booking: Booking, kind: str, version: int, skip_reason: str = "") -> SmsMessage:
    """The unsaved outbox row for (booking, kind, version): rendered text, segments, and why it is skipped, if it is."""
    body = booking_text(kind=kind, booking=booking, minutes=sms_setting("SMS_REMINDER_SOON_MINUTES"))
    count = segments_count(body)
    volunteer = booking.volunteer
    reason = (skip_reason or host_caused_skip_reason(kind=kind, proven=booking.proven_at is not None)
              or volunteer_skip_reason(volunteer))
    status = Status.SKIPPED if reason else Status.PENDING
    return SmsMessage(
        booking=booking, kind=kind, version=version, volunteer=volunteer, to=volunteer.phone, body=body,
        encoding=count.encoding, segments=count.segments, status=status, status_rank=RANK[status], skip_reason=reason,
    )


def _is_messaged(event: BookingEvent) -> bool:
    if event.kind not in EVENT_KINDS:
        return False
    if event.payload.get("by_request"):
        return False  # a booking request: its code text (challenge_message_record) says it all
    # A redirect's new booking is announced by the booking_redirected message on the old one.
    return not (event.kind == BookingEvent.Kind.CONFIRMED and event.payload.get("source") == "redirect")


def messages_record_for_events(*, events: list[BookingEvent | RecordedEvent]) -> int:
    """Bulk signal receiver body: the outbox rows for many events (an assignment commit) in a few statements,
    inside the events' transaction; the sends of the rows written are enqueued in batches on commit.
    Idempotent per key. The texts are those message_record writes, rendered once per slot and kind."""
    events = [event for event in events if _is_messaged(event)]
    if not events:
        return 0
    minutes = sms_setting("SMS_REMINDER_SOON_MINUTES")
    redirects = [event for event in events if event.kind == BookingEvent.Kind.REDIRECTED]
    rows = _message_rows_redirected(redirects, minutes) if redirects else []
    rows += _message_rows_by_slot([event for event in events if event.kind != BookingEvent.Kind.REDIRECTED], minutes)
    _message_rows_insert(rows)
    return len(rows)


class MessageKey(NamedTuple):
    """What identifies an outbox row: one message per (booking, kind, booking version)."""

    booking_id: int
    kind: str
    version: int


def messages_record_bulk(*, keys: list[MessageKey]) -> int:
    """message_record for many keys at once (any kind but booking_redirected), in the caller's transaction:
    the same rows and texts, written in a few statements on PostgreSQL, their sends enqueued in batches on
    commit. Keys that already have a row are left alone. Returns how many rows were written."""
    if not keys:
        return 0
    if connection.vendor != "postgresql":
        # SQLite (make run): a row at a time, as message_record writes them.
        bookings = Booking.objects.select_related(*BOOKING_RELATED[:3]).in_bulk({key.booking_id for key in keys})
        return sum(_message_insert(booking=bookings[key.booking_id], kind=key.kind, version=key.version)[1]
                   for key in keys)
    return _message_rows_insert(_message_rows_by_slot(keys, sms_setting("SMS_REMINDER_SOON_MINUTES")))


def _message_rows_insert(rows: list[tuple]) -> int:
    """COPY rows for MESSAGE_ROW_FIELDS, skipping keys already written; enqueue the pending ones' sends on commit."""
    inserted = copy_insert_new(SmsMessage, MESSAGE_ROW_FIELDS, rows, unique_fields=("booking", "kind", "version"),
                               returning=("id", "status"))
    ids = [pk for pk, status in inserted if status == Status.PENDING]
    if ids:
        transaction.on_commit(lambda: messages_enqueue_batches(ids))
    return len(inserted)


MESSAGE_ROW_FIELDS = ("booking", "kind", "version", "volunteer", "to", "body", "encoding", "segments", "status",
                      "status_rank", "skip_reason")


class _Recipient(NamedTuple):
    """The volunteer columns a message row needs (volunteer_skip_reason reads the flags)."""

    id: int
    name: str
    phone: str
    consent_sms: bool
    sms_opted_out: bool
    phone_invalid: bool


def _message_rows_by_slot(events: list, minutes: int) -> list[tuple]:
    """Rows for MESSAGE_ROW_FIELDS, from column reads rather than a model instance per booking."""
    recipients = {
        booking_id: (slot_id, manage_token, _Recipient(*volunteer), proven_at is not None)
        for booking_id, slot_id, manage_token, proven_at, *volunteer in Booking.objects.filter(
            any_of("pk", (event.booking_id for event in events))
        ).values_list("pk", "slot_id", "manage_token", "proven_at", "volunteer_id", "volunteer__name",
                      "volunteer__phone", "volunteer__consent_sms", "volunteer__sms_opted_out",
                      "volunteer__phone_invalid")
    }
    groups: dict[tuple[str, int], list] = defaultdict(list)
    for event in events:
        groups[(event.kind, recipients[event.booking_id][0])].append(event)
    slots = Slot.objects.select_related("session__meeting_point", "session__seat").in_bulk(
        {slot_id for _, slot_id in groups})
    rows = []
    for (kind, slot_id), group in groups.items():
        people = [recipients[event.booking_id][2] for event in group]
        rooms = None
        if says_where(kind):  # the front room, as volunteers.disclosure allows it to each phone
            rooms = front_rooms_disclose_slot(
                slot=slots[slot_id], volunteer_ids=[p.id for p in people], path=f"sms.{kind}",
                booking_ids=[event.booking_id for event in group],
                assigned=all(getattr(event, "payload", None) and event.payload.get("source") == Booking.Source.ASSIGNED
                             for event in group))
        texts = booking_texts(kind=kind, slot=slots[slot_id], volunteer_names=[p.name for p in people],
                              manage_tokens=[recipients[event.booking_id][1] for event in group], minutes=minutes,
                              rooms=rooms)
        for event, person, body in zip(group, people, texts, strict=True):
            count = segments_count(body)
            reason = (host_caused_skip_reason(kind=kind, proven=recipients[event.booking_id][3])
                      or volunteer_skip_reason(person))
            status = Status.SKIPPED if reason else Status.PENDING
            rows.append((event.booking_id, kind, event.version, person.id, person.phone, body, count.encoding,
                         count.segments, status, RANK[status], reason))
    return rows


def _message_rows_redirected(events: list, minutes: int) -> list[tuple]:
    """Rows for MESSAGE_ROW_FIELDS through _message_row: a redirect's text is about the booking it points to."""
    bookings = Booking.objects.select_related(*BOOKING_RELATED).in_bulk({event.booking_id for event in events})
    rows = []
    for event in events:
        message = _message_row(booking=bookings[event.booking_id], kind=event.kind, version=event.version)
        rows.append((event.booking_id, event.kind, event.version, message.volunteer_id, message.to, message.body,
                     message.encoding, message.segments, message.status, message.status_rank, message.skip_reason))
    return rows


def messages_enqueue_batches(ids: list[int], *, size: int = 50) -> None:
    """Hand many messages to Celery, a batch per task; if the broker is down the sweep picks the rows up later."""
    from dispatch.sms.tasks import messages_send_batch

    for start in range(0, len(ids), size):
        if not enqueue(messages_send_batch, (ids[start:start + size],), what=f"{len(ids) - start} SMS"):
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


def challenge_message_record(*, challenge: PhoneChallenge, code: str, situation: str) -> SmsMessage:
    """Signal receiver body: write the text carrying a challenge's code, once per (challenge, send), in the
    challenge's transaction; its send is enqueued on commit.

    It was asked for, so it goes without consent_sms, but never to a number that opted out or is invalid.
    """
    volunteer = challenge.volunteer
    body = challenge_text(challenge=challenge, code=code, situation=situation)
    count = segments_count(body)
    reason = skip_reason_for(opted_out=volunteer.sms_opted_out, phone_invalid=volunteer.phone_invalid,
                             consent_sms=True)
    status = Status.SKIPPED if reason else Status.PENDING
    message = SmsMessage(challenge=challenge, kind=SmsMessage.Kind.PHONE_CODE, version=challenge.sends,
                         volunteer=volunteer, to=volunteer.phone, body=body, encoding=count.encoding,
                         segments=count.segments, status=status, status_rank=RANK[status], skip_reason=reason)
    message.save(force_insert=True)
    if status == Status.PENDING:
        transaction.on_commit(lambda: message_enqueue(message.pk))
    return message


def in_quiet_hours(moment=None) -> bool:
    local = timezone.localtime(moment or timezone.now()).time()
    start, end = sms_setting("SMS_QUIET_HOURS_START"), sms_setting("SMS_QUIET_HOURS_END")
    if start <= end:
        return start <= local < end
    return local >= start or local < end


@dataclass(frozen=True)
class _Claim:
    """What a send needs from the row it claimed."""

    pk: int
    to: str
    body: str
    kind: str
    attempts: int
    volunteer_id: int | None
    skip_reason: str
    host_id: int | None = None


# One statement claims the row and returns what the send needs: the volunteer's flags, and the booking's
# version now. Every status change (and a move of the front room) bumps the version and has a message of
# its own, so a message written for an older version is stale: a "waitlisted" retried after the "promoted" went, a reminder that waited
# behind thousands of others on the morning before polling day for a booking cancelled meanwhile. The
# second branch takes over a row whose worker died mid-send; its attempts are then > 1, which is what
# makes the send look the message up at Twilio first. (Portable to SQLite, which `make run` uses: hence
# subqueries rather than UPDATE ... FROM in RETURNING.)
_CLAIM_SQL = """
UPDATE sms_smsmessage SET status = %(sending)s, status_rank = %(sending_rank)s, send_started_at = %(now)s,
       attempts = attempts + 1, updated_at = %(now)s
 WHERE id = %(id)s
   AND ((status = %(pending)s AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
        OR (status = %(sending)s AND send_started_at < %(stale)s))
RETURNING "to", body, kind, attempts, volunteer_id, version, host_id,
   (SELECT v.sms_opted_out FROM volunteers_volunteer v WHERE v.id = sms_smsmessage.volunteer_id),
   (SELECT v.phone_invalid FROM volunteers_volunteer v WHERE v.id = sms_smsmessage.volunteer_id),
   (SELECT v.consent_sms FROM volunteers_volunteer v WHERE v.id = sms_smsmessage.volunteer_id),
   (SELECT b.version FROM volunteers_booking b WHERE b.id = sms_smsmessage.booking_id),
   (SELECT c.sends FROM volunteers_phonechallenge c WHERE c.id = sms_smsmessage.challenge_id),
   (SELECT p.sends FROM sms_hostmobileproof p WHERE p.id = sms_smsmessage.host_proof_id)
"""


def _claim(message_id: int) -> _Claim | None:
    """Claim a message for sending (a due pending row, or one a dead worker left in "sending"); None if not ours."""
    now = timezone.now()
    stale = now - timedelta(seconds=sms_setting("SMS_SENDING_STALE_SECONDS"))
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {
            "id": message_id, "now": adapt(now), "stale": adapt(stale), "pending": Status.PENDING.value,
            "sending": Status.SENDING.value, "sending_rank": RANK[Status.SENDING],
        })
        row = cursor.fetchone()
    if row is None:
        return None
    (to, body, kind, attempts, volunteer_id, version, host_id, opted_out, phone_invalid, consent, booking_version,
     sends, host_sends) = row
    if kind == SmsMessage.Kind.HOST_CODE:
        # Asked for (saving a mobile, or a new code), so it goes whatever the texts choice, to the mobile still
        # saved; a newer code (a resend, another mobile) supersedes this one.
        reason = host_skip_reason(host_id=host_id, to=to, code=True)
        if not reason and host_sends != version:
            reason = "code_superseded"
    elif kind == SmsMessage.Kind.HOST_DIGEST:
        reason = host_skip_reason(host_id=host_id, to=to, digest=True)
    elif host_id is not None:
        # A host's notice: what the host chose now decides (dispatch.sms.services.hosts); a later change of the
        # booking does not make it stale (the host is told of each booking and cancellation, as by email).
        reason = host_skip_reason(host_id=host_id, to=to)
    elif kind == SmsMessage.Kind.PHONE_CODE:
        # Asked for, so sent without consent_sms; a resend's newer code supersedes this one.
        reason = skip_reason_for(opted_out=opted_out, phone_invalid=phone_invalid, consent_sms=True)
        if not reason and sends != version:
            reason = "code_superseded"
    else:
        reason = skip_reason_for(opted_out=opted_out, phone_invalid=phone_invalid, consent_sms=consent)
        if not reason and booking_version != version:
            reason = "booking_changed"
    return _Claim(pk=message_id, to=to, body=body, kind=kind, attempts=attempts, volunteer_id=volunteer_id,
                  skip_reason=reason, host_id=host_id)


def _finish(message_id: int, **fields) -> bool:
    status = fields["status"]
    fields.update(status_rank=RANK[status], updated_at=timezone.now(), next_attempt_at=None)
    return bool(SmsMessage.objects.filter(pk=message_id, status=Status.SENDING).update(**fields))


_ACCEPTED_SQL = """
UPDATE sms_smsmessage SET status = %(queued)s, status_rank = %(queued_rank)s, twilio_sid = %(sid)s,
       accepted_at = %(now)s, updated_at = %(now)s, next_attempt_at = NULL, error_code = NULL, error_message = ''
 {async_commit}WHERE id = %(id)s AND status = %(sending)s
"""
# PostgreSQL commits this statement without waiting for its WAL to reach disk (synchronous_commit
# off for this transaction only). That is safe here, and only here: if a crash loses it, the row is
# still "sending" from a claim that was durable before Twilio was called, so the sweep hands it to
# a send that looks the message up in Twilio's list first, finds it, and records the SID without
# sending again. It spares one of the two disk flushes of every send.
_ACCEPTED_ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit\n "


def _accepted(message_id: int, sid: str) -> bool:
    """Record Twilio's SID on the row this send claimed (the hot path, so one plain statement)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # Only as a transaction of its own: inside a caller's transaction it would relax that one's commit too.
    alone = connection.vendor == "postgresql" and connection.get_autocommit()
    sql = _ACCEPTED_SQL.format(async_commit=_ACCEPTED_ASYNC_COMMIT if alone else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"id": message_id, "sid": sid, "now": now, "queued": Status.QUEUED.value,
                             "queued_rank": RANK[Status.QUEUED], "sending": Status.SENDING.value})
        return cursor.rowcount == 1


def _already_sent_sid(claim: _Claim, backend) -> str | None:
    since = SmsMessage.objects.values_list("created_at", flat=True).get(pk=claim.pk)
    for sid in backend.find(to=claim.to, body=claim.body, since=since):
        if not SmsMessage.objects.filter(twilio_sid=sid).exclude(pk=claim.pk).exists():
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


def flags_for_error(*, volunteer_id: int | None, host_id: int | None, code: int | None) -> None:
    """volunteer_flags_for_error for a volunteer's text, the same flags on the host's preference for a host's."""
    if host_id is not None:
        if code in INVALID_NUMBER_CODES or code in OPTED_OUT_CODES:
            host_sms_flags_set(host_id=host_id, phone_invalid=True if code in INVALID_NUMBER_CODES else None,
                               opted_out=True if code in OPTED_OUT_CODES else None)
    elif volunteer_id is not None:
        volunteer_flags_for_error(volunteer_id=volunteer_id, code=code)


def _send_failed(claim: _Claim, exc: SendError) -> str:
    now = timezone.now()
    if exc.transient and claim.attempts < sms_setting("SMS_MAX_ATTEMPTS"):
        delay = _retry_delay(claim.attempts)
        SmsMessage.objects.filter(pk=claim.pk, status=Status.SENDING).update(
            status=Status.PENDING, status_rank=RANK[Status.PENDING], next_attempt_at=now + timedelta(seconds=delay),
            error_code=exc.code, error_message=exc.message, updated_at=now,
        )
        message_enqueue(claim.pk, countdown=delay)
        return "retrying"
    text = exc.message if not exc.transient else f"Gave up after {claim.attempts} attempts: {exc.message}"
    _finish(claim.pk, status=Status.FAILED, error_code=exc.code, error_message=text[:300])
    flags_for_error(volunteer_id=claim.volunteer_id, host_id=claim.host_id, code=exc.code)
    logger.warning("SMS %s failed permanently: %s %s", claim.pk, exc.code, exc.message)
    return "failed"


def message_send(*, message_id: int) -> str:
    """Send one outbox message through the configured backend, at most once per row.

    The conditional claim makes a duplicate task a no-op; a retry after an interrupted or failed
    attempt first asks the provider whether it already has the message, and only sends if not.
    Transient errors reschedule the row with backoff; permanent ones mark it failed. Returns the outcome.
    """
    claim = _claim(message_id)
    if claim is None:
        return "not_due"
    reason = claim.skip_reason
    if not reason and claim.kind in REMINDER_KINDS and in_quiet_hours():
        reason = "quiet_hours"
    host_text = claim.kind in HOST_KINDS
    backend = backend_get()
    try:
        # After an interrupted attempt Twilio is asked first: that attempt may have gone out, and then the
        # row must say so, even if the message would now be skipped.
        sid = _already_sent_sid(claim, backend) if claim.attempts > 1 else None
        if sid is None:
            if reason:
                _finish(message_id, status=Status.SKIPPED, skip_reason=reason)
                return "skipped"
            if host_text and in_quiet_hours():  # a host's text waits for the morning rather than being dropped
                host_text_defer(message_id=message_id, until=quiet_hours_end(timezone.now()))
                return "deferred"
            if ((host_text or claim.kind in HOST_CAUSED_KINDS)
                    and not host_text_allowed_today(claim.to, message_id=message_id)):
                _finish(message_id, status=Status.SKIPPED, skip_reason="daily_limit")
                return "skipped"
            send_slot_wait(sender=sender_key(), per_second=sms_setting("SMS_RATE_PER_SECOND"))
            sid = backend.send(to=claim.to, body=claim.body, status_callback=status_callback_url()).sid
    except SendError as exc:
        return _send_failed(claim, exc)
    if not _accepted(message_id, sid):
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
    message = SmsMessage.objects.select_for_update(of=("self",)).select_related("volunteer").get(pk=message_id)
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
        recipient = SmsMessage.objects.filter(twilio_sid=sid).values_list("volunteer_id", "host_id").first()
        if recipient:
            flags_for_error(volunteer_id=recipient[0], host_id=recipient[1], code=error_code)
    return bool(changed)

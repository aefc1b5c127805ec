"""Sending an SMS outbox row (notify.outbox's mechanism, this channel's claim and send): claimed by one
statement, looked up at Twilio first after an interrupted attempt, held back in quiet hours, and tracked by
Twilio's status callbacks."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from notify.outbox import attempt_failed, row_finish
from notify.pacing import in_quiet_hours, quiet_hours_end
from notify.registry import channel_get
from notify.sms.backends import (
    SendError,
    backend_get,
    sender_key,
)
from notify.sms.conf import sms_setting
from notify.sms.models import SmsMessage
from notify.sms.ratelimit import send_slot_wait
from notify.sms.services.campaign import HELD_KINDS, UNVERSIONED_KINDS, campaign_skip_reason
from notify.sms.services.hosts import (
    HOST_KINDS,
    host_skip_reason,
    host_text_allowed_today,
    host_text_defer,
)
from notify.sms.services.outbox import (
    HOST_CAUSED_KINDS,
    REMINDER_KINDS,
    flags_for_error,
    skip_reason_for,
    status_callback_url,
)
from notify.sms.services.reminder_window import DROPPED_LATE, validity_seconds

logger = logging.getLogger(__name__)

Status = SmsMessage.Status
RANK = SmsMessage.RANK


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
    send_by: datetime | None = None  # its latest useful time, if it has one


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
RETURNING "to", body, kind, attempts, volunteer_id, version, host_id, send_by,
   (SELECT v.sms_opted_out FROM volunteers_volunteer v WHERE v.id = sms_smsmessage.volunteer_id),
   (SELECT v.phone_invalid FROM volunteers_volunteer v WHERE v.id = sms_smsmessage.volunteer_id),
   (SELECT v.consent_sms FROM volunteers_volunteer v WHERE v.id = sms_smsmessage.volunteer_id),
   (SELECT b.version FROM volunteers_booking b WHERE b.id = sms_smsmessage.booking_id),
   (SELECT c.sends FROM volunteers_phonechallenge c WHERE c.id = sms_smsmessage.challenge_id),
   (SELECT p.sends FROM sms_hostmobileproof p WHERE p.id = sms_smsmessage.host_proof_id)
"""


def _claim_row(message_id: int, now: datetime, stale: datetime) -> tuple | None:
    """Mark the row sending if it is due (or stale) and return what the send needs; None if not ours."""
    adapt = connection.ops.adapt_datetimefield_value
    # bench/sql_vs_orm.py sms_claim: the ORM's update() and values_list() took 6.2x this statement's CPU, 1.9 ms
    # more a send, about 15% of a send's (BENCHMARKS.md "Hand-written statements vs the ORM", "The notify
    # statements").
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {
            "id": message_id, "now": adapt(now), "stale": adapt(stale), "pending": Status.PENDING.value,
            "sending": Status.SENDING.value, "sending_rank": RANK[Status.SENDING],
        })
        return cursor.fetchone()


def _claim(message_id: int) -> _Claim | None:
    """Claim a message for sending (a due pending row, or one a dead worker left in "sending"); None if not ours."""
    now = timezone.now()
    row = _claim_row(message_id, now, now - timedelta(seconds=sms_setting("SMS_SENDING_STALE_SECONDS")))
    if row is None:
        return None
    (to, body, kind, attempts, volunteer_id, version, host_id, send_by, opted_out, phone_invalid, consent, booking_version,
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
        # A host's notice: what the host chose now decides (notify.sms.services.hosts); a later change of the
        # booking does not make it stale (the host is told of each booking and cancellation, as by email).
        reason = host_skip_reason(host_id=host_id, to=to)
    elif kind == SmsMessage.Kind.PHONE_CODE:
        # Asked for, so sent without consent_sms; a resend's newer code supersedes this one.
        reason = skip_reason_for(opted_out=opted_out, phone_invalid=phone_invalid, consent_sms=True)
        if not reason and sends != version:
            reason = "code_superseded"
    else:
        reason = skip_reason_for(opted_out=opted_out, phone_invalid=phone_invalid, consent_sms=consent)
        # A follow-up is one per booking (notify.followups), whatever changed since: the host marking attendance.
        if (not reason and kind not in UNVERSIONED_KINDS and booking_version != version
                and kind != SmsMessage.Kind.FOLLOW_UP):
            reason = "booking_changed"
        if not reason:
            reason = campaign_skip_reason(kind=kind, volunteer_id=volunteer_id)  # notify.consent's gate, at the send
    return _Claim(pk=message_id, to=to, body=body, kind=kind, attempts=attempts, volunteer_id=volunteer_id,
                  skip_reason=reason, host_id=host_id, send_by=_aware(send_by))


def _aware(moment):
    """A timestamp as raw SQL returned it (SQLite: naive UTC, or text) as the ORM would."""
    if moment is None or connection.vendor == "postgresql":
        return moment
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def _finish(message_id: int, **fields) -> bool:
    return row_finish(channel_get("sms"), message_id, **fields)


def _accepted(message_id: int, sid: str) -> bool:
    """Record Twilio's SID on the row this send claimed; False if it is no longer ours."""
    # The ORM, measured (bench/sql_vs_orm.py sms_accept_commit at 3afae3b): the hand-written UPDATE with an
    # asynchronous commit it replaced saved 0.3-0.4 ms of CPU a send (2-3%) and a WAL flush's wait (BENCHMARKS.md
    # "Hand-written statements vs the ORM").
    return _finish(message_id, status=Status.QUEUED, twilio_sid=sid, accepted_at=timezone.now(), error_code=None,
                   error_message="")


def _already_sent_sid(claim: _Claim, backend) -> str | None:
    since = SmsMessage.objects.values_list("created_at", flat=True).get(pk=claim.pk)
    for sid in backend.find(to=claim.to, body=claim.body, since=since):
        if not SmsMessage.objects.filter(twilio_sid=sid).exclude(pk=claim.pk).exists():
            return sid
    return None


def _send_failed(claim: _Claim, exc: SendError) -> str:
    # The channel's enqueue is notify.sms.services.outbox.message_enqueue, looked up at each call.
    outcome = attempt_failed(channel_get("sms"), row_id=claim.pk, attempts=claim.attempts, transient=exc.transient,
                             message=exc.message, error=lambda text: {"error_code": exc.code, "error_message": text})
    if outcome == "failed":
        flags_for_error(volunteer_id=claim.volunteer_id, host_id=claim.host_id, code=exc.code)
        logger.warning("SMS %s failed permanently: %s %s", claim.pk, exc.code, exc.message)
    return outcome


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
    # Never sent after its latest useful time (a reminder's window end, a code's expiry), however long it queued.
    if not reason and claim.send_by is not None and timezone.now() >= claim.send_by:
        reason = DROPPED_LATE
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
            # A host's text, a message to everyone booked or a follow-up retried into the night waits for the
            # morning rather than being dropped.
            if (host_text or claim.kind in HELD_KINDS or claim.kind == SmsMessage.Kind.FOLLOW_UP) and in_quiet_hours():
                host_text_defer(message_id=message_id, until=quiet_hours_end(timezone.now()))
                return "deferred"
            if ((host_text or claim.kind in HOST_CAUSED_KINDS)
                    and not host_text_allowed_today(claim.to, message_id=message_id)):
                _finish(message_id, status=Status.SKIPPED, skip_reason="daily_limit")
                return "skipped"
            send_slot_wait(sender=sender_key(), per_second=sms_setting("SMS_RATE_PER_SECOND"))
            # Twilio drops it rather than deliver it after its latest useful time, or (a reminder, a host's text)
            # inside quiet hours: a queue at Twilio never breaks them either.
            validity = validity_seconds(send_by=claim.send_by, now=timezone.now(),
                                        quiet_bound=claim.kind in REMINDER_KINDS or host_text)
            if validity < 1:
                _finish(message_id, status=Status.SKIPPED, skip_reason=DROPPED_LATE)
                return "skipped"
            sid = backend.send(to=claim.to, body=claim.body, status_callback=status_callback_url(),
                               validity_period=validity).sid
    except SendError as exc:
        return _send_failed(claim, exc)
    if not _accepted(message_id, sid):
        logger.error("SMS %s was sent as %s but the row was no longer being sent", message_id, sid)
    return "sent"


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

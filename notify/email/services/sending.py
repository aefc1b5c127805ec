"""Sending an email outbox row (notify.outbox's mechanism, this channel's claim and send). SMTP cannot be asked
whether it holds a message, so exactly-once across a worker's death rests on the hand-over mark (handed_over_at,
committed to disk just before the final "." of DATA): a row taken over without it is sent again (the server dropped
the unfinished message), one taken over with it is recorded as "assumed" and never sent twice. On PostgreSQL the
claim also reads the booking, in the same statement (the claim-and-read fast path, BENCHMARKS.md)."""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from email.mime.text import MIMEText

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.db.models import F
from django.utils import timezone

from core.db import get_with_related, instances_from_related_row, related_select
from core.languages import language_override
from notify.email.backends import SendError, transport
from notify.email.conf import email_setting
from notify.email.models import EmailMessage, HostEmailPreference
from notify.email.services import content
from notify.email.services.broadcasts import BROADCAST_KINDS, broadcast_compose
from notify.email.services.followups import follow_up_rendered
from notify.email.services.host_releases import host_released_rendered
from notify.email.services.host_reports import host_report_rendered
from notify.email.services.outbox import BOOKING_RELATED, HOST_KINDS, host_notify
from notify.email.services.unsubscribe import host_token, volunteer_token
from notify.outbox import attempt_failed, row_finish
from notify.pacing import in_quiet_hours, quiet_hours_end, slot_wait
from notify.registry import channel_get
from sessions.hosts import host_email_verified, host_language
from volunteers.models import Booking

logger = logging.getLogger(__name__)

Status = EmailMessage.Status
Kind = EmailMessage.Kind
Notify = HostEmailPreference.Notify


@dataclass(frozen=True)
class _Claim:
    pk: int
    kind: str
    attempts: int
    version: int
    volunteer_id: int | None
    host_id: int | None
    booking_id: int | None
    digest_date: date | None
    handed_over: bool
    message_id: str
    booking: Booking | None = None  # read with the claim, with BOOKING_READ


# PostgreSQL commits these without waiting for the disk (synchronous_commit off for that one transaction). Safe
# for the claim and the final record, and only them: the hand-over is committed durably just before the final
# "." of DATA, and a durable commit also flushes every earlier one. A claim lost in a crash leaves the row
# pending with nothing handed over (sent again: the server dropped it); a lost final record leaves the hand-over,
# which the sweep turns into "assumed" without sending twice.
_ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit "

_CLAIM_SQL = """
UPDATE email_emailmessage SET status = %(sending)s, send_started_at = %(now)s, attempts = attempts + 1,
       updated_at = %(now)s
 {async_commit}WHERE id = %(id)s
   AND ((status = %(pending)s AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
        OR (status = %(sending)s AND send_started_at < %(stale)s))
RETURNING kind, attempts, version, volunteer_id, host_id, booking_id, digest_date, handed_over_at, message_id
"""
# On PostgreSQL the claim also reads the booking the email is about, in the same round trip (SQLite has no
# UPDATE inside WITH: there it is a second statement). The read sees the row as the claim's snapshot does.
_CLAIM_AND_READ_SQL = """
WITH claimed AS ({claim})
SELECT claimed.*, booking.* FROM claimed LEFT JOIN LATERAL ({booking} WHERE t0.id = claimed.booking_id) AS booking ON TRUE
"""
# What the send reads of the booking: the volunteer, and the slot's session with its meeting point and seat.
BOOKING_READ = BOOKING_RELATED[:3]


def _async_prefix() -> str:
    # Only as a transaction of its own: inside a caller's transaction it would relax that one's commit too.
    return _ASYNC_COMMIT if connection.vendor == "postgresql" and connection.get_autocommit() else ""


def _claim(message_id: int) -> _Claim | None:
    """Claim a due pending row, or one a dead worker left in "sending", with its booking; None if it is not ours
    to send."""
    now = timezone.now()
    stale = now - timedelta(seconds=email_setting("EMAIL_SENDING_STALE_SECONDS"))
    adapt = connection.ops.adapt_datetimefield_value
    sql = _CLAIM_SQL.format(async_commit=_async_prefix())
    booking_sql, plan = related_select(Booking, BOOKING_READ)
    together = connection.vendor == "postgresql"
    if together:
        sql = _CLAIM_AND_READ_SQL.format(claim=sql, booking=booking_sql)
    # bench/outbox.py --channel email: reading the booking in the claim took a send from four statements to three
    # and the run from 15% to 20% of a no-op task (BENCHMARKS.md "Outbox throughput", history in git).
    with connection.cursor() as cursor:
        cursor.execute(sql, {
            "id": message_id, "now": adapt(now), "stale": adapt(stale), "pending": Status.PENDING.value,
            "sending": Status.SENDING.value,
        })
        row = cursor.fetchone()
    if row is None:
        return None
    kind, attempts, version, volunteer_id, host_id, booking_id, digest_date, handed_over_at, mid = row[:9]
    if isinstance(digest_date, str):  # SQLite
        digest_date = date.fromisoformat(digest_date)
    if together:
        booking = None if row[9] is None else instances_from_related_row(plan, row[9:])
    else:
        booking = get_with_related(Booking, booking_id, related=BOOKING_READ) if booking_id else None
    return _Claim(pk=message_id, kind=kind, attempts=attempts, version=version, volunteer_id=volunteer_id,
                  host_id=host_id, booking_id=booking_id, digest_date=digest_date,
                  handed_over=handed_over_at is not None, message_id=mid, booking=booking)


def _finish(message_id: int, **fields) -> bool:
    return row_finish(channel_get("email"), message_id, **fields)


_HANDOVER_SQL = """
UPDATE email_emailmessage SET handed_over_at = %(now)s, "to" = %(to)s, subject = %(subject)s, updated_at = %(now)s
 WHERE id = %(id)s AND status = %(sending)s
"""
_SENT_SQL = """
UPDATE email_emailmessage SET status = %(sent)s, sent_at = %(now)s, updated_at = %(now)s, next_attempt_at = NULL,
       error_code = NULL, error_message = ''
 {async_commit}WHERE id = %(id)s AND status = %(sending)s
"""


def _defer(message_id: int, *, until) -> bool:
    """Put a claimed row back, due at `until`, giving back the attempt its claim counted; the outbox sweep hands it
    to a worker then (no countdown that long waits in the broker)."""
    return bool(EmailMessage.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.PENDING, next_attempt_at=until, attempts=F("attempts") - 1, updated_at=timezone.now()))


def _handed_over(message_id: int, to: str, subject: str) -> None:
    """Committed (durably) before the final "." of DATA: from here on the server may hold the message."""
    # bench/outbox.py --channel email: built once, as the claim (BENCHMARKS.md "Outbox throughput").
    with connection.cursor() as cursor:
        cursor.execute(_HANDOVER_SQL, {"id": message_id, "now": connection.ops.adapt_datetimefield_value(
            timezone.now()), "to": to, "subject": subject, "sending": Status.SENDING.value})


def _sent(message_id: int) -> bool:
    # bench/outbox.py --channel email: built once, as the claim (BENCHMARKS.md "Outbox throughput").
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL.format(async_commit=_async_prefix()), {
            "id": message_id, "now": connection.ops.adapt_datetimefield_value(timezone.now()),
            "sent": Status.SENT.value, "sending": Status.SENDING.value})
        return cursor.rowcount == 1


@dataclass(frozen=True)
class _Composed:
    to: str = ""
    subject: str = ""
    email: EmailMultiAlternatives | None = None
    skip_reason: str = ""


def _volunteer_skip_reason(volunteer, booking: Booking, version: int) -> str:
    if volunteer.anonymised_at is not None:
        return "personal_data_erased"
    if not volunteer.email:
        return "no_address"
    if volunteer.email_opted_out_at is not None:
        return "opted_out"
    if not volunteer.consent_email:
        return "no_consent"
    if booking.proven_at is None:
        return "not_proven"
    if booking.version != version:
        return "booking_changed"
    return ""


class _Email(EmailMultiAlternatives):
    def message(self):
        msg = super().message()
        # Python's generator would draw each multipart's boundary and compile a regular expression of it to check
        # that no line of the body is the boundary: 0.2 of the 0.7 ms that flattening this message took. 128 random
        # bits cannot be guessed by whoever wrote a session's title, nor turn up in the body by chance.
        for part in msg.walk():
            if part.is_multipart():
                part.set_boundary(f"=={secrets.token_hex(16)}==")
        return msg


def _email(*, claim: _Claim, to: str, rendered: content.Rendered, unsubscribe: str) -> EmailMultiAlternatives:
    email = _Email(
        subject=rendered.subject, body=rendered.text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
        headers={
            "Message-ID": claim.message_id,
            # RFC 2369 and RFC 8058: mail apps show an unsubscribe button that POSTs to the link, one click.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no out-of-office replies
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    if rendered.calendar:
        part = MIMEText(rendered.calendar.decode("utf-8"), "calendar", "utf-8")
        part.set_param("method", rendered.calendar_method)
        part.add_header("Content-Disposition", "attachment", filename="frontroom.ics")
        email.attach(part)
    return email


def _compose(claim: _Claim) -> _Composed:
    """The email for `claim`, in its reader's language (core.languages): a worker has no request to take it from."""
    if claim.kind in HOST_KINDS:
        with language_override(host_language(host_id=claim.host_id)):
            return _compose_for_host(claim)
    if claim.kind in BROADCAST_KINDS:  # a message to everyone booked: notify.consent's gate asked again here
        found = broadcast_compose(message_id=claim.pk, kind=claim.kind, volunteer_id=claim.volunteer_id)
        if isinstance(found, str):
            return _Composed(skip_reason=found)
        to, rendered, unsubscribe = found
        return _Composed(to=to, subject=rendered.subject,
                         email=_email(claim=claim, to=to, rendered=rendered, unsubscribe=unsubscribe))
    if claim.booking is None:
        return _compose_for_volunteer(claim)
    with language_override(claim.booking.language):
        return _compose_for_volunteer(claim)


def _compose_for_volunteer(claim: _Claim) -> _Composed:
    booking = claim.booking
    if booking is None:
        return _Composed(skip_reason="booking_deleted")
    if claim.kind == Kind.REDIRECTED and booking.redirected_to_id:  # the email is about the booking it points to
        booking.redirected_to = get_with_related(Booking, booking.redirected_to_id, related=BOOKING_RELATED[1:3])
    volunteer = booking.volunteer
    follow_up = claim.kind == Kind.FOLLOW_UP  # one per booking, whatever changed since (notify.followups)
    reason = _volunteer_skip_reason(volunteer, booking, booking.version if follow_up else claim.version)
    if reason:
        return _Composed(skip_reason=reason)
    unsubscribe = content.unsubscribe_url(volunteer_token(volunteer.pk))
    rendered = (follow_up_rendered(booking=booking, unsubscribe=unsubscribe) if follow_up
                else content.booking_rendered(booking=booking, kind=claim.kind, unsubscribe=unsubscribe))
    return _Composed(to=volunteer.email, subject=rendered.subject,
                     email=_email(claim=claim, to=volunteer.email, rendered=rendered, unsubscribe=unsubscribe))


def _compose_for_host(claim: _Claim) -> _Composed:
    host = get_user_model().objects.filter(pk=claim.host_id).first()
    if host is None or not host.is_active:
        return _Composed(skip_reason="host_inactive")
    if not host.email:
        return _Composed(skip_reason="no_address")
    if not host_email_verified(host=host):  # the address may be a stranger's: nothing until it is proven
        return _Composed(skip_reason="host_unverified")
    wanted = Notify.DAILY if claim.kind == Kind.HOST_DIGEST else Notify.EACH
    if claim.kind == Kind.HOST_REPORT:  # every host who takes emails, each or daily, is asked for the report
        if host_notify(host.pk) == Notify.OFF:
            return _Composed(skip_reason="host_preference")
    elif host_notify(host.pk) != wanted:
        return _Composed(skip_reason="host_preference")
    unsubscribe = content.unsubscribe_url(host_token(host.pk))
    if claim.kind == Kind.HOST_DIGEST:
        from notify.email.services.hosts import digest_lines

        lines = digest_lines(host_id=host.pk, day=claim.digest_date)
        if not lines:
            return _Composed(skip_reason="nothing_to_tell")
        rendered = content.host_digest_rendered(day=claim.digest_date, lines=lines, unsubscribe=unsubscribe)
    elif claim.booking is None:
        return _Composed(skip_reason="booking_deleted")
    elif claim.kind == Kind.HOST_REPORT:
        rendered = host_report_rendered(booking=claim.booking, unsubscribe=unsubscribe)
    elif claim.kind == Kind.HOST_RELEASED:
        rendered = host_released_rendered(message_id=claim.pk, booking=claim.booking, unsubscribe=unsubscribe)
    else:
        rendered = content.host_notice_rendered(booking=claim.booking, kind=claim.kind, unsubscribe=unsubscribe)
    return _Composed(to=host.email, subject=rendered.subject,
                     email=_email(claim=claim, to=host.email, rendered=rendered, unsubscribe=unsubscribe))


def _send_failed(claim: _Claim, exc: SendError) -> str:
    if exc.uncertain:
        _finish(claim.pk, status=Status.ASSUMED_SENT, error_message=exc.message)
        logger.warning("email %s handed over without an answer: recorded as assumed sent (%s)", claim.pk, exc.message)
        return "assumed"
    # A retry clears the hand-over mark: the server refused the message, so the next attempt sends it afresh.
    # The channel's enqueue is notify.email.services.outbox.message_enqueue, looked up at each call.
    outcome = attempt_failed(channel_get("email"), row_id=claim.pk, attempts=claim.attempts,
                             transient=exc.transient, message=exc.message,
                             error=lambda text: {"error_code": exc.code, "error_message": text},
                             clear={"handed_over_at": None})
    if outcome == "failed":
        logger.warning("email %s failed permanently: %s %s", claim.pk, exc.code, exc.message)
    return outcome


def message_send(*, message_id: int) -> str:
    """Send one outbox email through the configured backend, at most once per row.

    The conditional claim makes a duplicate task a no-op; a row taken over from a dead worker after the hand-over
    is recorded as "assumed" instead of being sent again. Transient errors (SMTP 4xx, a provider's 429 or 5xx,
    the network before the hand-over) reschedule the row with backoff; permanent ones (SMTP 5xx) mark it failed.
    Returns the outcome: sent, skipped, retrying, failed, assumed or not_due.
    """
    claim = _claim(message_id)
    if claim is None:
        return "not_due"
    if claim.handed_over:
        _finish(message_id, status=Status.ASSUMED_SENT,
                error_message="The worker stopped after handing the message over; not sent again.")
        return "assumed"
    broadcast = claim.kind in BROADCAST_KINDS
    if broadcast and in_quiet_hours():  # as its texts: held until the morning, never dropped
        _defer(message_id, until=quiet_hours_end(timezone.now()))
        return "deferred"
    try:
        composed = _compose(claim)
    except Exception as exc:  # noqa: BLE001 - a message that cannot be rendered must not loop in the sweep
        logger.exception("email %s could not be composed", message_id)
        _finish(message_id, status=Status.FAILED, error_message=f"Could not compose: {exc}"[:300])
        return "failed"
    if composed.skip_reason:
        _finish(message_id, status=Status.SKIPPED, skip_reason=composed.skip_reason)
        return "skipped"
    if broadcast:  # spread at the configured rate however many workers send them
        slot_wait(key="email:rate:broadcast", per_second=email_setting("EMAIL_BROADCAST_RATE_PER_SECOND"))
    try:
        transport().send(composed.email,
                         on_handover=lambda: _handed_over(message_id, composed.to[:254], composed.subject[:200]))
    except SendError as exc:
        return _send_failed(claim, exc)
    if not _sent(message_id):
        logger.error("email %s was sent but the row was no longer being sent", message_id)
    return "sent"

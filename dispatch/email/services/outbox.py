"""The email outbox: rows written with the booking change, sent once by Celery, recorded on the row.

The same guarantees as dispatch.sms: a row per (booking, kind, version), written in the change's transaction
(the booking_event_recorded / booking_events_recorded / booking_proven signals) and enqueued on commit; a
conditional UPDATE claims it, so a duplicate task is a no-op; the booking's version is checked at the claim,
so an email about an older state is skipped; only transient failures are retried; a sweep re-enqueues
stragglers. SMTP cannot be asked whether it holds a message, so exactly-once across a worker's death rests on
the hand-over mark (handed_over_at, committed to disk just before the final "." of DATA): a row taken over
without it is sent again (the server dropped the unfinished message), one taken over with it is recorded as
"assumed" and never sent twice. Nothing goes to a volunteer who unsubscribed or whose phone is unproven, and
there are no quiet hours for email.
"""

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from email.mime.text import MIMEText

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from core.db import (
    any_of,
    copy_insert_new,
    get_with_related,
    insert_or_get,
    instances_from_related_row,
    related_select,
)
from core.languages import language_override
from dispatch.email.backends import SendError, transport
from dispatch.email.conf import email_setting
from dispatch.email.models import EmailMessage, HostEmailPreference
from dispatch.email.services import content
from dispatch.email.services.unsubscribe import host_token, volunteer_token
from dispatch.host_notices import BOOKED, BOOKED_EVENTS, CANCELLED, CANCELLED_EVENTS, host_notice
from sessions.hosts import host_email_verified, host_language
from volunteers.models import Booking, BookingEvent

logger = logging.getLogger(__name__)

Status = EmailMessage.Status
Kind = EmailMessage.Kind
Notify = HostEmailPreference.Notify
EventKind = BookingEvent.Kind

# Booking events a volunteer is emailed about (released bookings never had a proven phone: never emailed).
EVENT_KINDS = {
    EventKind.CONFIRMED, EventKind.WAITLISTED, EventKind.PROMOTED, EventKind.REDIRECTED, EventKind.SESSION_CANCELLED,
    EventKind.CANCELLED, EventKind.VENUE_MOVED, EventKind.SLOT_RESCHEDULED, EventKind.APPROVED, EventKind.REFUSED,
}
HOST_KINDS = {Kind.HOST_BOOKED, Kind.HOST_CANCELLED, Kind.HOST_DIGEST}
# What a host is told of (dispatch.host_notices): a place taken (by a proven phone) or given back.
HOST_BOOKED_EVENTS = BOOKED_EVENTS
HOST_CANCELLED_EVENTS = CANCELLED_EVENTS

BOOKING_RELATED = (
    "volunteer", "slot__session__meeting_point", "slot__session__seat",
    "redirected_to__slot__session__meeting_point", "redirected_to__slot__session__seat",
)


def volunteer_emailable(volunteer) -> bool:
    """Gave an address and the email consent, never unsubscribed, not erased."""
    return bool(volunteer.email and volunteer.consent_email and volunteer.email_opted_out_at is None
                and volunteer.anonymised_at is None)


def _emails_volunteer(kind: str, payload: dict) -> bool:
    if kind not in EVENT_KINDS or payload.get("by_request"):
        return False  # a booking request's email waits for the phone's proof (messages_record_for_proof)
    # A redirect's new booking is announced by the booking_redirected email about the old one.
    return not (kind == EventKind.CONFIRMED and payload.get("source") == "redirect")


def _host_kind(kind: str, payload: dict, proven: bool) -> str | None:
    # The rule is dispatch.host_notices', shared with the texts to hosts (dispatch.sms).
    return {BOOKED: Kind.HOST_BOOKED, CANCELLED: Kind.HOST_CANCELLED}.get(host_notice(kind, payload, proven))


def host_notify(host_id: int) -> str:
    """The host's choice; without one, an email for each booking and cancellation."""
    return HostEmailPreference.objects.filter(host_id=host_id).values_list("notify", flat=True).first() or Notify.EACH


def _hosts_told_each(host_ids) -> set[int]:
    """Of these hosts, those to email at each booking and cancellation: active, with an address they proved
    (sessions.hosts), and not having chosen the digest or nothing (one query)."""
    rows = get_user_model().objects.filter(pk__in=host_ids, is_active=True).exclude(email="").filter(
        Q(email_preference__isnull=True) | Q(email_preference__notify=Notify.EACH)).values_list(
        "pk", "email", "host_standing__email_verified")
    return {pk for pk, email, proven in rows if proven and proven.lower() == email.lower()}


def message_enqueue(message_id: int, *, countdown: float | None = None) -> None:
    """Hand a message to Celery; if the broker is down the sweep picks the row up later."""
    from core.broker import enqueue
    from dispatch.email.tasks import message_send

    enqueue(message_send, (message_id,), countdown=countdown, what=f"email {message_id}")


def messages_enqueue_batches(ids: list[int], *, size: int = 50) -> None:
    """Hand many messages to Celery, a batch per task; if the broker is down the sweep picks the rows up later."""
    from core.broker import enqueue
    from dispatch.email.tasks import messages_send_batch

    for start in range(0, len(ids), size):
        if not enqueue(messages_send_batch, (ids[start:start + size],), what=f"{len(ids) - start} emails"):
            return


def _insert(message: EmailMessage) -> bool:
    row, created = insert_or_get(message, unique_fields=("booking", "kind", "version"))
    if created:
        transaction.on_commit(lambda: message_enqueue(row.pk))
    return created


def messages_record_for_event(*, event) -> int:
    """Signal receiver body, in the event's transaction: the volunteer's email and the host's notice for a booking
    event, each once per (booking, kind, version). Returns how many rows were written."""
    wants_volunteer = _emails_volunteer(event.kind, event.payload)
    if not wants_volunteer and event.kind not in HOST_BOOKED_EVENTS | HOST_CANCELLED_EVENTS:
        return 0
    booking = event.booking
    prefetch_related_objects([booking], "volunteer", "slot__session__meeting_point")
    proven = booking.proven_at is not None
    written = 0
    if wants_volunteer and proven and volunteer_emailable(booking.volunteer):
        written += _insert(EmailMessage(volunteer_id=booking.volunteer_id, booking=booking, kind=event.kind,
                                        version=event.version))
    host_kind = _host_kind(event.kind, event.payload, proven)
    if host_kind:
        host_id = booking.slot.session.meeting_point.host_id
        if _hosts_told_each([host_id]):
            written += _insert(EmailMessage(host_id=host_id, booking=booking, kind=host_kind, version=event.version))
    return written


def messages_record_for_proof(*, booking: Booking) -> int:
    """Signal receiver body, in the proof's transaction: a booking request's phone is proven, so the email its
    event waited for is written (confirmed or waitlisted, at the booking's current version) and the host told.
    (On the code check's one-statement path the proof has committed already: a crash in between loses these.)"""
    prefetch_related_objects([booking], "volunteer", "slot__session__meeting_point")  # loaded already, usually
    kind = {Booking.Status.CONFIRMED: Kind.CONFIRMED, Booking.Status.WAITLISTED: Kind.WAITLISTED}.get(booking.status)
    if kind is None:
        return 0
    written = 0
    if volunteer_emailable(booking.volunteer):
        written += _insert(EmailMessage(volunteer_id=booking.volunteer_id, booking=booking, kind=kind,
                                        version=booking.version))
    host_id = booking.slot.session.meeting_point.host_id
    if kind == Kind.CONFIRMED and _hosts_told_each([host_id]):
        written += _insert(EmailMessage(host_id=host_id, booking=booking, kind=Kind.HOST_BOOKED,
                                        version=booking.version))
    return written


def messages_record_for_email_proof(*, booking: Booking) -> int:
    """Signal receiver body (booking_email_proven), in the code check's transaction: the link proved the booking
    before its requester's email was applied, so the volunteer's confirmation (or waitlist) email that
    messages_record_for_proof could not write then is written now, unless the volunteer was already emailed
    that about this booking (at any version: a known phone's address proven before, or an earlier code).
    The host was told at the proof. Returns how many rows were written (0 or 1)."""
    prefetch_related_objects([booking], "volunteer")  # loaded already, usually
    kind = {Booking.Status.CONFIRMED: Kind.CONFIRMED, Booking.Status.WAITLISTED: Kind.WAITLISTED}.get(booking.status)
    if kind is None or booking.proven_at is None or not volunteer_emailable(booking.volunteer):
        return 0
    # The same news under another name: a confirmed booking whose promotion from the waitlist was emailed.
    told = (kind, Kind.PROMOTED) if kind == Kind.CONFIRMED else (kind,)
    # The code check holds the volunteer's lock, so two codes for this booking cannot both find nothing here.
    if EmailMessage.objects.filter(booking=booking, volunteer_id=booking.volunteer_id, kind__in=told).exists():
        return 0
    return int(_insert(EmailMessage(volunteer_id=booking.volunteer_id, booking=booking, kind=kind,
                                    version=booking.version)))


ROW_FIELDS = ("volunteer", "host", "booking", "kind", "version")


def messages_record_for_events(*, events: list) -> int:
    """Bulk signal receiver body (an assignment commit, a session cancelled): the rows for many events in a few
    statements, in the events' transaction, their sends enqueued in batches on commit. Idempotent per key."""
    events = [event for event in events if _emails_volunteer(event.kind, event.payload)
              or event.kind in HOST_BOOKED_EVENTS | HOST_CANCELLED_EVENTS]
    if not events:
        return 0
    facts = {
        row[0]: row[1:] for row in Booking.objects.filter(any_of("pk", (event.booking_id for event in events)))
        .values_list("pk", "proven_at", "volunteer_id", "volunteer__email", "volunteer__consent_email",
                     "volunteer__email_opted_out_at", "volunteer__anonymised_at", "slot__session__meeting_point__host_id")
    }
    told = _hosts_told_each({fact[-1] for fact in facts.values()})
    rows = []
    for event in events:
        proven_at, volunteer_id, email, consent, opted_out_at, anonymised_at, host_id = facts[event.booking_id]
        proven = proven_at is not None
        if (_emails_volunteer(event.kind, event.payload) and proven and email and consent and opted_out_at is None
                and anonymised_at is None):
            rows.append((volunteer_id, None, event.booking_id, event.kind, event.version))
        host_kind = _host_kind(event.kind, event.payload, proven)
        if host_kind and host_id in told:
            rows.append((None, host_id, event.booking_id, host_kind, event.version))
    return _rows_insert(rows)


def _rows_insert(rows: list[tuple]) -> int:
    if not rows:
        return 0
    inserted = copy_insert_new(EmailMessage, ROW_FIELDS, rows, unique_fields=("booking", "kind", "version"),
                               returning=("id",))
    ids = [pk for (pk,) in inserted]
    if ids:
        transaction.on_commit(lambda: messages_enqueue_batches(ids))
    return len(ids)


def messages_record_bulk(*, keys: list[tuple[int, int, str, int]]) -> int:
    """Volunteer emails for many (volunteer id, booking id, kind, version) keys (the reminders), in the caller's
    transaction; keys already written are left alone. Returns how many rows were written."""
    return _rows_insert([(volunteer_id, None, booking_id, kind, version)
                         for volunteer_id, booking_id, kind, version in keys])


# --- Sending ------------------------------------------------------------------------------------------------


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
    fields.update(updated_at=timezone.now(), next_attempt_at=None)
    return bool(EmailMessage.objects.filter(pk=message_id, status=Status.SENDING).update(**fields))


_HANDOVER_SQL = """
UPDATE email_emailmessage SET handed_over_at = %(now)s, "to" = %(to)s, subject = %(subject)s, updated_at = %(now)s
 WHERE id = %(id)s AND status = %(sending)s
"""
_SENT_SQL = """
UPDATE email_emailmessage SET status = %(sent)s, sent_at = %(now)s, updated_at = %(now)s, next_attempt_at = NULL,
       error_code = NULL, error_message = ''
 {async_commit}WHERE id = %(id)s AND status = %(sending)s
"""


def _handed_over(message_id: int, to: str, subject: str) -> None:
    """Committed (durably) before the final "." of DATA: from here on the server may hold the message."""
    with connection.cursor() as cursor:
        cursor.execute(_HANDOVER_SQL, {"id": message_id, "now": connection.ops.adapt_datetimefield_value(
            timezone.now()), "to": to, "subject": subject, "sending": Status.SENDING.value})


def _sent(message_id: int) -> bool:
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
    reason = _volunteer_skip_reason(volunteer, booking, claim.version)
    if reason:
        return _Composed(skip_reason=reason)
    unsubscribe = content.unsubscribe_url(volunteer_token(volunteer.pk))
    rendered = content.booking_rendered(booking=booking, kind=claim.kind, unsubscribe=unsubscribe)
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
    if host_notify(host.pk) != wanted:
        return _Composed(skip_reason="host_preference")
    unsubscribe = content.unsubscribe_url(host_token(host.pk))
    if claim.kind == Kind.HOST_DIGEST:
        from dispatch.email.services.hosts import digest_lines

        lines = digest_lines(host_id=host.pk, day=claim.digest_date)
        if not lines:
            return _Composed(skip_reason="nothing_to_tell")
        rendered = content.host_digest_rendered(day=claim.digest_date, lines=lines, unsubscribe=unsubscribe)
    elif claim.booking is None:
        return _Composed(skip_reason="booking_deleted")
    else:
        rendered = content.host_notice_rendered(booking=claim.booking, kind=claim.kind, unsubscribe=unsubscribe)
    return _Composed(to=host.email, subject=rendered.subject,
                     email=_email(claim=claim, to=host.email, rendered=rendered, unsubscribe=unsubscribe))


def _retry_delay(attempts: int) -> float:
    base, cap = email_setting("EMAIL_RETRY_BASE_SECONDS"), email_setting("EMAIL_RETRY_MAX_SECONDS")
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter


def _send_failed(claim: _Claim, exc: SendError) -> str:
    if exc.uncertain:
        _finish(claim.pk, status=Status.ASSUMED_SENT, error_message=exc.message)
        logger.warning("email %s handed over without an answer: recorded as assumed sent (%s)", claim.pk, exc.message)
        return "assumed"
    now = timezone.now()
    if exc.transient and claim.attempts < email_setting("EMAIL_MAX_ATTEMPTS"):
        delay = _retry_delay(claim.attempts)
        EmailMessage.objects.filter(pk=claim.pk, status=Status.SENDING).update(
            status=Status.PENDING, next_attempt_at=now + timedelta(seconds=delay), handed_over_at=None,
            error_code=exc.code, error_message=exc.message, updated_at=now,
        )
        message_enqueue(claim.pk, countdown=delay)
        return "retrying"
    text = exc.message if not exc.transient else f"Gave up after {claim.attempts} attempts: {exc.message}"
    _finish(claim.pk, status=Status.FAILED, error_code=exc.code, error_message=text[:300])
    logger.warning("email %s failed permanently: %s %s", claim.pk, exc.code, exc.message)
    return "failed"


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
    try:
        composed = _compose(claim)
    except Exception as exc:  # noqa: BLE001 - a message that cannot be rendered must not loop in the sweep
        logger.exception("email %s could not be composed", message_id)
        _finish(message_id, status=Status.FAILED, error_message=f"Could not compose: {exc}"[:300])
        return "failed"
    if composed.skip_reason:
        _finish(message_id, status=Status.SKIPPED, skip_reason=composed.skip_reason)
        return "skipped"
    try:
        transport().send(composed.email,
                         on_handover=lambda: _handed_over(message_id, composed.to[:254], composed.subject[:200]))
    except SendError as exc:
        return _send_failed(claim, exc)
    if not _sent(message_id):
        logger.error("email %s was sent but the row was no longer being sent", message_id)
    return "sent"


def messages_requeue_stuck(*, grace: timedelta = timedelta(seconds=30), stale_after: timedelta | None = None,
                           limit: int = 2000) -> int:
    """Re-enqueue emails whose task was lost (broker down at commit) or whose worker died mid-send. Safe to repeat."""
    now = timezone.now()
    if stale_after is None:
        stale_after = timedelta(seconds=email_setting("EMAIL_SENDING_STALE_SECONDS"))
    due = Q(status=Status.PENDING, updated_at__lt=now - grace) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - grace))
    stuck = Q(status=Status.SENDING, send_started_at__lt=now - stale_after)
    ids = list(EmailMessage.objects.filter(due | stuck).order_by("id").values_list("id", flat=True)[:limit])
    for message_id in ids:
        message_enqueue(message_id)
    return len(ids)


@transaction.atomic
def message_retry(*, message_id: int) -> bool:
    """Coordinator action: send a failed, skipped or assumed email again (for "assumed", maybe a second copy)."""
    message = EmailMessage.objects.select_for_update().get(pk=message_id)
    if message.status not in (Status.FAILED, Status.SKIPPED, Status.ASSUMED_SENT):
        return False
    EmailMessage.objects.filter(pk=message_id).update(
        status=Status.PENDING, next_attempt_at=None, skip_reason="", handed_over_at=None, updated_at=timezone.now())
    transaction.on_commit(lambda: message_enqueue(message_id))
    return True


def messages_erase_for_volunteer(*, volunteer_id: int) -> int:
    """Inside the erasing transaction: blank the address and subject of every email to the volunteer, and never send
    the ones still waiting; blank the subject of every email to a host about the volunteer's bookings ("Priya S.
    booked: ..."), and never send those still waiting either, as dispatch.sms does with its texts to hosts (the
    host's roster shows the place freed). Safe to repeat."""
    messages = EmailMessage.objects.filter(volunteer_id=volunteer_id)
    about = EmailMessage.objects.filter(host__isnull=False, booking__volunteer_id=volunteer_id)
    for rows in (messages, about):
        rows.filter(status__in=[Status.PENDING, Status.SENDING]).update(
            status=Status.SKIPPED, skip_reason="personal_data_erased", next_attempt_at=None)
    about.exclude(subject="").update(subject="")
    return messages.update(to="", subject="")

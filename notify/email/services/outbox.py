"""The email outbox: rows written with the booking change, sent once by Celery, recorded on the row.

The same guarantees as notify.sms: a row per (booking, kind, version), written in the change's transaction
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
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import prefetch_related_objects

from core.db import (
    any_of,
    copy_insert_new,
    insert_or_get,
)
from notify.audience import BOOKED, BOOKED_EVENTS, CANCELLED, CANCELLED_EVENTS, EMAILED, host_notice
from notify.email.conf import email_setting
from notify.email.models import EmailMessage, HostEmailPreference
from notify.outbox import (
    Outbox,
    row_enqueue,
    row_retry,
    rows_enqueue_batches,
    rows_requeue_stuck,
)
from notify.registry import channel_register
from volunteers.models import Booking, BookingEvent

logger = logging.getLogger(__name__)

Status = EmailMessage.Status
Kind = EmailMessage.Kind
Notify = HostEmailPreference.Notify
EventKind = BookingEvent.Kind

# Booking events a volunteer is emailed about (notify.audience says who hears of what).
EVENT_KINDS = EMAILED
HOST_KINDS = {Kind.HOST_BOOKED, Kind.HOST_CANCELLED, Kind.HOST_DIGEST, Kind.HOST_REPORT, Kind.HOST_RELEASED}
# What a host is told of (notify.audience): a place taken (by a proven phone) or given back.
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
    # The rule is notify.audience', shared with the texts to hosts (notify.sms).
    return {BOOKED: Kind.HOST_BOOKED, CANCELLED: Kind.HOST_CANCELLED}.get(host_notice(kind, payload, proven))


def host_notify(host_id: int) -> str:
    """The host's choice; without one, an email for each booking and cancellation."""
    return HostEmailPreference.objects.filter(host_id=host_id).values_list("notify", flat=True).first() or Notify.EACH


def _hosts_told_each(host_ids) -> set[int]:
    """Of these hosts, those to email at each booking and cancellation: active, with an address they proved
    (sessions.hosts), and not having chosen the digest or nothing (one query)."""
    host_ids = list(host_ids)
    if not host_ids:
        return set()
    # A statement built once: every proof asks this of its session's host, and the ORM's compilation of the two
    # joins was the largest single piece of a proof's CPU after the view (about 0.6 ms in process; 24% of a
    # profiled proof, bench/proof_cases.py room_proof, BENCHMARKS.md "Safety checks ... (issue 20)").
    user, preference = get_user_model()._meta, HostEmailPreference._meta
    standing = user.get_field("host_standing").related_model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT u.id, u.email, s.email_verified FROM {user.db_table} u
                LEFT JOIN {preference.db_table} p ON p.host_id = u.id LEFT JOIN {standing.db_table} s ON s.host_id = u.id
                WHERE u.id IN ({", ".join(["%s"] * len(host_ids))}) AND u.is_active AND u.email <> ''
                AND (p.id IS NULL OR p.notify = %s)""",
            [*host_ids, Notify.EACH])
        rows = cursor.fetchall()
    return {pk for pk, email, proven in rows if proven and proven.lower() == email.lower()}


def message_enqueue(message_id: int, *, countdown: float | None = None) -> None:
    """Hand a message to Celery; if the broker is down the sweep picks the row up later."""
    row_enqueue(OUTBOX, message_id, countdown=countdown)


def messages_enqueue_batches(ids: list[int], *, size: int = 50) -> None:
    """Hand many messages to Celery, a batch per task; if the broker is down the sweep picks the rows up later."""
    rows_enqueue_batches(OUTBOX, ids, size=size, what="emails")


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


def messages_requeue_stuck(*, grace: timedelta = timedelta(seconds=30), stale_after: timedelta | None = None,
                           limit: int = 2000) -> int:
    """Re-enqueue emails whose task was lost (broker down at commit) or whose worker died mid-send. Safe to repeat."""
    return rows_requeue_stuck(OUTBOX, grace=grace, stale_after=stale_after, limit=limit)


@transaction.atomic
def message_retry(*, message_id: int) -> bool:
    """Coordinator action: send a failed, skipped or assumed email again (for "assumed", maybe a second copy)."""
    EmailMessage.objects.select_for_update().get(pk=message_id)  # DoesNotExist for an unknown id
    return row_retry(OUTBOX, row_id=message_id, statuses=[Status.FAILED, Status.SKIPPED, Status.ASSUMED_SENT],
                     clear={"skip_reason": "", "handed_over_at": None})


def messages_erase_for_volunteer(*, volunteer_id: int) -> int:
    """Inside the erasing transaction: blank the address and subject of every email to the volunteer, and never send
    the ones still waiting; blank the subject of every email to a host about the volunteer's bookings ("Priya S.
    booked: ..."), and never send those still waiting either, as notify.sms does with its texts to hosts (the
    host's roster shows the place freed). Safe to repeat."""
    messages = EmailMessage.objects.filter(volunteer_id=volunteer_id)
    about = EmailMessage.objects.filter(host__isnull=False, booking__volunteer_id=volunteer_id)
    for rows in (messages, about):
        rows.filter(status__in=[Status.PENDING, Status.SENDING]).update(
            status=Status.SKIPPED, skip_reason="personal_data_erased", next_attempt_at=None)
    about.exclude(subject="").update(subject="")
    return messages.update(to="", subject="")


def _send(message_id: int) -> str:
    from notify.email.services.sending import message_send  # which imports this module

    return message_send(message_id=message_id)


OUTBOX = channel_register(Outbox(
    name="email", model=EmailMessage, setting=email_setting, prefix="EMAIL", what="email",
    send=_send, sent="sent",
    erase=lambda volunteer_id: messages_erase_for_volunteer(volunteer_id=volunteer_id),
    # Late-bound: a test that patches this module's message_enqueue sees every enqueue.
    enqueue=lambda message_id, countdown=None: message_enqueue(message_id, countdown=countdown),
    stale_setting="EMAIL_SENDING_STALE_SECONDS",
))

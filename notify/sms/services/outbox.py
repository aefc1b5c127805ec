"""The SMS outbox: rows written with the booking change, sent once by Celery, tracked by status callbacks."""

import contextvars
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q, prefetch_related_objects
from django.urls import reverse

from core.db import any_of, copy_insert_new, insert_or_get
from core.languages import language_override
from notify.audience import TEXTED
from notify.outbox import (
    Outbox,
    row_enqueue,
    row_retry,
    rows_enqueue_batches,
    rows_requeue_stuck,
)
from notify.registry import channel_register
from notify.sms.backends import INVALID_NUMBER_CODES, OPTED_OUT_CODES
from notify.sms.conf import sms_setting
from notify.sms.models import SmsMessage
from notify.sms.segments import segments_count
from notify.sms.services.hosts import host_sms_flags_set
from notify.sms.texts import booking_text, booking_texts, challenge_text, says_where
from sessions.models import Slot
from volunteers.disclosure import front_rooms_disclose_slot
from volunteers.events import RecordedEvent
from volunteers.models import Booking, BookingEvent, PhoneChallenge, Volunteer
from volunteers.services import volunteer_sms_flags_set

logger = logging.getLogger(__name__)

Status = SmsMessage.Status
RANK = SmsMessage.RANK

# Booking events that produce a message (notify.audience says who hears of what).
EVENT_KINDS = TEXTED
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
    # Never waits on a dead broker (core.broker.enqueue); the row is safe in PostgreSQL.
    row_enqueue(OUTBOX, message_id, countdown=countdown)


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


def messages_record_bulk(*, keys: list[MessageKey], timing=None) -> int:
    """message_record for many keys at once (any kind but booking_redirected), in the caller's transaction:
    the same rows and texts, written in a few statements on PostgreSQL, their sends enqueued in batches on
    commit. Keys that already have a row are left alone. Returns how many rows were written.

    `timing` (notify.sms.services.reminder_window.reminder_timing) gives each row, by (booking id, status) in the
    keys' order, its (send_after, send_by): a row with a send_after is not enqueued, the release sweep hands it
    over at that time."""
    if not keys:
        return 0
    if connection.vendor != "postgresql":
        # SQLite (make run): a row at a time, as message_record writes them.
        bookings = Booking.objects.select_related(*BOOKING_RELATED[:3]).in_bulk({key.booking_id for key in keys})
        written = 0
        for key in keys:
            row = _message_row(booking=bookings[key.booking_id], kind=key.kind, version=key.version)
            if timing is not None:
                row.send_after, row.send_by = timing([(key.booking_id, row.status)])[0]
                row.next_attempt_at = row.send_after
            message, created = insert_or_get(row, unique_fields=("booking", "kind", "version"))
            if created and message.status == Status.PENDING and message.send_after is None:
                transaction.on_commit(lambda pk=message.pk: message_enqueue(pk))
            written += created
        return written
    rows = _message_rows_by_slot(keys, sms_setting("SMS_REMINDER_SOON_MINUTES"))
    if timing is None:
        return _message_rows_insert(rows)
    times = timing([(row[0], row[MESSAGE_ROW_FIELDS.index("status")]) for row in rows])
    return _message_rows_insert([(*row, after, after, by) for row, (after, by) in zip(rows, times, strict=True)],
                                fields=(*MESSAGE_ROW_FIELDS, "send_after", "next_attempt_at", "send_by"))


def _message_rows_insert(rows: list[tuple], *, fields: tuple = ()) -> int:
    """COPY rows for MESSAGE_ROW_FIELDS (or `fields`), skipping keys already written; enqueue the pending ones'
    sends on commit, but for those planned for later (a send_after: the release sweep's)."""
    fields = fields or MESSAGE_ROW_FIELDS
    inserted = copy_insert_new(SmsMessage, fields, rows, unique_fields=("booking", "kind", "version"),
                               returning=("id", "status", "send_after"))
    ids = [pk for pk, status, send_after in inserted if status == Status.PENDING and send_after is None]
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
        booking_id: (slot_id, manage_token, _Recipient(*volunteer), proven_at is not None, language)
        for booking_id, slot_id, manage_token, proven_at, language, *volunteer in Booking.objects.filter(
            any_of("pk", (event.booking_id for event in events))
        ).values_list("pk", "slot_id", "manage_token", "proven_at", "language", "volunteer_id", "volunteer__name",
                      "volunteer__phone", "volunteer__consent_sms", "volunteer__sms_opted_out",
                      "volunteer__phone_invalid")
    }
    # One group per kind, slot and language: each booking's text is in the language it was made in.
    groups: dict[tuple[str, int, str], list] = defaultdict(list)
    for event in events:
        groups[(event.kind, recipients[event.booking_id][0], recipients[event.booking_id][4])].append(event)
    slots = Slot.objects.select_related("session__meeting_point", "session__seat").in_bulk(
        {slot_id for _, slot_id, _ in groups})
    rows = []
    for (kind, slot_id, language), group in groups.items():
        people = [recipients[event.booking_id][2] for event in group]
        rooms = None
        if says_where(kind):  # the front room, as volunteers.disclosure allows it to each phone
            rooms = front_rooms_disclose_slot(
                slot=slots[slot_id], volunteer_ids=[p.id for p in people], path=f"sms.{kind}",
                booking_ids=[event.booking_id for event in group],
                assigned=all(getattr(event, "payload", None) and event.payload.get("source") == Booking.Source.ASSIGNED
                             for event in group))
        with language_override(language):
            texts = booking_texts(kind=kind, slot=slots[slot_id], volunteer_names=[p.name for p in people],
                                  manage_tokens=[recipients[event.booking_id][1] for event in group],
                                  minutes=minutes, rooms=rooms)
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
    rows_enqueue_batches(OUTBOX, ids, size=size, what="SMS")


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
                         segments=count.segments, status=status, status_rank=RANK[status], skip_reason=reason,
                         send_by=challenge.expires_at)  # a code that arrives dead is worse than none
    message.save(force_insert=True)
    if status == Status.PENDING:
        transaction.on_commit(lambda: message_enqueue(message.pk))
    return message


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


def messages_requeue_stuck(*, grace: timedelta = timedelta(seconds=30), stale_after: timedelta | None = None,
                           limit: int = 2000) -> int:
    """Re-enqueue messages whose task was lost (broker down at commit) or whose worker died mid-send. Safe to repeat."""
    return rows_requeue_stuck(OUTBOX, grace=grace, stale_after=stale_after, limit=limit)


@transaction.atomic
def message_retry(*, message_id: int) -> bool:
    """Coordinator action: send a failed or skipped message again (a lookup first avoids a double send)."""
    SmsMessage.objects.select_for_update(of=("self",)).get(pk=message_id)  # DoesNotExist for an unknown id
    # Never one Twilio accepted already (a coordinator would text the volunteer twice), nor one dropped late (its
    # latest useful time has passed: it would only be dropped again).
    return row_retry(OUTBOX, row_id=message_id, statuses=[Status.FAILED, Status.SKIPPED],
                     match=(Q(twilio_sid__isnull=True) | Q(twilio_sid="")) & ~Q(skip_reason="dropped_late"),
                     clear={"skip_reason": ""})


def _send(message_id: int) -> str:
    from notify.sms.services.sending import message_send  # which imports this module

    return message_send(message_id=message_id)


def _erase(volunteer_id: int) -> int:
    from notify.sms.services.privacy import messages_erase_for_volunteer

    return messages_erase_for_volunteer(volunteer_id=volunteer_id)


OUTBOX = channel_register(Outbox(
    name="sms", model=SmsMessage, setting=sms_setting, prefix="SMS", what="SMS",
    send=_send, sent="sent", erase=_erase,
    # Late-bound: a test that patches this module's message_enqueue sees every enqueue.
    enqueue=lambda message_id, countdown=None: message_enqueue(message_id, countdown=countdown),
    stale_setting="SMS_SENDING_STALE_SECONDS", status_fields=lambda status: {"status_rank": RANK[status]},
))

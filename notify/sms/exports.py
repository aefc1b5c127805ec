"""The coordinators' CSV export of failed texts (docs/exports.md), served by dispatch.exports_api and the admin."""

from collections.abc import Iterator
from datetime import datetime

from core.exports import ITERATOR_CHUNK, Export
from notify.sms.models import SmsMessage
from seats.scopes import NATIONAL, SeatScope
from volunteers.privacy import Access, mask_phone, personal_data_accessed_record

SMS_FAILURES = Export("sms_failures", "sms-failures.csv", (
    ("message_id", "The text's id (its page: /coordinate/sms/<id>/)."),
    ("created_at", "When it was written (ISO 8601, UTC)."),
    ("kind", "What it was: booking_confirmed, reminder_day, phone_code, ..."),
    ("status", "failed (Twilio refused it or retries ran out) or undelivered (the carrier could not deliver)."),
    ("error_code", "Twilio's error code."),
    ("error_message", "Twilio's message."),
    ("attempts", "Send attempts."),
    ("to", "Masked number."),
    ("volunteer_id", "The volunteer's id."),
    ("booking_id", "The booking it was about, if any."),
    ("phone_invalid", "yes if the number has been marked invalid."),
    ("sms_opted_out", "yes if the volunteer replied STOP."),
))
FAILED = (SmsMessage.Status.FAILED, SmsMessage.Status.UNDELIVERED)


def sms_failures_query(*, since: datetime | None = None, until: datetime | None = None):
    query = SmsMessage.objects.filter(status__in=FAILED)
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    return query.order_by("-created_at", "-id")


def sms_failures_export_rows(*, actor, selection=None, since: datetime | None = None,
                             until: datetime | None = None, scope: SeatScope = NATIONAL) -> Iterator[tuple]:
    """Failed and undelivered texts, newest first, numbers masked and without their bodies (which carry names and
    addresses); audited like the SMS log (an admin `selection` keeps only its failures)."""
    query = sms_failures_query(since=since, until=until)
    if not scope.national:  # texts about a booking in the organiser's seats; none about a bare phone
        query = scope.filter(query, "booking__slot__session__seat")
    if selection is not None:
        query = query.filter(pk__in=selection.values("pk"))
    personal_data_accessed_record(actor=actor, action=Access.EXPORTED, export=SMS_FAILURES.name, filters={
        k: str(v) for k, v in {"since": since, "until": until, "selection": selection is not None and "admin"}.items()
        if v})
    return _sms_rows(query)


def _sms_rows(query) -> Iterator[tuple]:
    rows = query.values_list("pk", "created_at", "kind", "status", "error_code", "error_message", "attempts", "to",
                             "volunteer_id", "booking_id", "volunteer__phone_invalid", "volunteer__sms_opted_out")
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        yield (*row[:7], mask_phone(row[7]), *row[8:])

"""CSV exports of bookings and volunteers (docs/exports.md): the columns, the rows as a generator over a
server-side cursor, and the privacy rules (docs/privacy.md) applied here, once, for the pages, the API and the admin.

- A host's roster of their own session: full numbers and emails (they call people on the day) of proven phones;
  an unproven booking is only the first name its request typed (volunteers.selectors.roster_person).
- Coordinators' bookings and volunteers: masked numbers and no emails, as the admin's lists show them; each
  export is written to the coordinator audit log (volunteers.privacy.personal_data_accessed_record).
"""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from core.exports import ITERATOR_CHUNK, Export
from seats.scopes import NATIONAL, SeatScope
from volunteers.models import Booking, Volunteer
from volunteers.privacy import Access, mask_phone, personal_data_accessed_record
from volunteers.selectors import roster_person_of, session_roster

ROSTER = Export("roster", "roster-session-{session}.csv", (
    ("booking_id", "The booking's id."),
    ("slot_starts_at", "The slot's start, local time (TIME_ZONE) to the minute: 2026-03-28 10:00."),
    ("slot_ends_at", "The slot's end, the same way."),
    ("status", "pending, confirmed, waitlisted, cancelled, redirected, attended or no_show."),
    ("approval", "not_required, pending, approved or refused (sessions that ask for the host's approval)."),
    ("proven", "yes once the volunteer proved their phone."),
    ("name", "The volunteer's name; until the phone is proven only the first name typed (empty once erased)."),
    ("phone", "Full number, E.164 (empty until the phone is proven, and once erased)."),
    ("email", "Email, if given (empty until the phone is proven)."),
    ("party_size", "The places this booking takes: the volunteer and the others coming with them (1 = alone)."),
    ("party_names", "First names the booker gave for the others, comma separated (empty once erased)."),
    ("attendance_confirmed_at", "When the volunteer texted OK to say they are coming."),
    ("waitlisted_at", "When they joined the waitlist."),
    ("booked_at", "When the booking was made."),
))

BOOKINGS = Export("bookings", "bookings.csv", (
    ("booking_id", "The booking's id."),
    ("status", "pending, confirmed, waitlisted, cancelled, redirected, attended or no_show."),
    ("source", "direct, assigned (assignment run) or redirect (overflow)."),
    ("approval", "not_required, pending, approved or refused."),
    ("proven", "yes once the volunteer proved their phone."),
    ("booked_at", "When the booking was made (ISO 8601, UTC)."),
    ("cancelled_at", "When it was cancelled, if it was."),
    ("slot_id", "The slot's id."),
    ("slot_starts_at", "The slot's start."),
    ("slot_ends_at", "The slot's end."),
    ("session_id", "The session's id."),
    ("session_title", "The session's title."),
    ("seat", "The session's constituency (ONS code)."),
    ("seat_name", "The constituency's name."),
    ("postcode_district", "The session's postcode district (never the address)."),
    ("volunteer_id", "The volunteer's id (joins the volunteers export)."),
    ("volunteer_name", "The volunteer's name (empty once erased)."),
    ("volunteer_phone", "Masked number, e.g. +44 7••• •••321."),
))

VOLUNTEERS = Export("volunteers", "volunteers.csv", (
    ("volunteer_id", "The volunteer's id."),
    ("name", "Name (empty once erased)."),
    ("phone", "Masked number, e.g. +44 7••• •••321."),
    ("postcode", "Postcode as given (its district once erased)."),
    ("seat", "The constituency of their postcode (ONS code)."),
    ("consent_sms", "yes if they agreed to texts."),
    ("consent_sms_at", "When they agreed (ISO 8601, UTC)."),
    ("consent_sms_version", "Which consent wording they were shown (volunteers.consent)."),
    ("sms_opted_out", "yes if they replied STOP."),
    ("phone_invalid", "yes if the carrier refused the number."),
    ("phone_verified_at", "When they first proved their phone."),
    ("anonymised_at", "When their personal data was erased."),
    ("created_at", "When they first signed up or booked."),
))


def _audit_export(*, actor, export: Export, filters: dict, volunteer_ids=()) -> None:
    personal_data_accessed_record(actor=actor, action=Access.EXPORTED, volunteer_ids=volunteer_ids,
                                  export=export.name, filters={k: str(v) for k, v in filters.items()
                                                               if v not in (None, "", [])})


def roster_export_rows(*, user, session_id: int, statuses: list[str] | None = None) -> Iterator[tuple]:
    """A session's roster for its host (or a coordinator, audited by session_roster): full numbers, as the roster
    page. Raises NotFound before the first row for a session the user does not manage."""
    bookings = session_roster(user=user, session_id=session_id, statuses=statuses)  # checks ownership now, not at the first row
    return _roster_rows(bookings)


def _roster_rows(bookings: QuerySet[Booking]) -> Iterator[tuple]:
    rows = bookings.values_list(
        "pk", "slot__starts_at", "slot__ends_at", "status", "approval", "proven_at", "said_name", "volunteer__name",
        "volunteer__phone", "volunteer__email", "volunteer__anonymised_at", "party_size", "party_names",
        "attendance_confirmed_at", "waitlisted_at", "created_at")
    for (pk, starts, ends, status, approval, proven_at, said_name, name, phone, email, erased, party_size,
         party_names, confirmed_at, waitlisted_at, created) in rows.iterator(chunk_size=ITERATOR_CHUNK):
        person = roster_person_of(proven_at=proven_at, said_name=said_name, name=name, phone=phone, email=email,
                                  erased_at=erased)
        yield (pk, _local_minute(starts), _local_minute(ends), status, approval, person.proven, person.name,
               person.phone, person.email, party_size, party_names, _local_minute(confirmed_at), _local_minute(waitlisted_at),
               _local_minute(created))


def _local_minute(moment: datetime | None) -> str | None:
    # The roster is read by a host in a spreadsheet on the day: their clock's time, not UTC to the microsecond.
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else None


def bookings_export_query(*, date_from: datetime | None = None, date_to: datetime | None = None,
                          statuses: list[str] | None = None, seat: str | None = None) -> QuerySet[Booking]:
    query = Booking.objects.all()
    if date_from is not None:
        query = query.filter(slot__starts_at__gte=date_from)
    if date_to is not None:
        query = query.filter(slot__starts_at__lt=date_to)
    if statuses:
        query = query.filter(status__in=statuses)
    if seat:
        query = query.filter(slot__session__seat_id=seat)
    return query.order_by("pk")


def bookings_export_rows(*, actor, selection: QuerySet[Booking] | None = None, scope: SeatScope = NATIONAL,
                         **filters) -> Iterator[tuple]:
    """Coordinators' bookings export (masked numbers), one row per booking in id order, audited as an export:
    with its filters (bookings_export_query's), or, for the admin's picked `selection`, the volunteers in it.
    Only the bookings of sessions in the caller's seat scope."""
    if filters.get("seat"):
        scope.check_seat(filters["seat"])
    if selection is not None:
        _audit_export(actor=actor, export=BOOKINGS, filters={"selection": "admin"},
                      volunteer_ids=set(selection.values_list("volunteer_id", flat=True)))
        return _bookings_rows(selection)
    _audit_export(actor=actor, export=BOOKINGS, filters=filters)
    return _bookings_rows(scope.filter(bookings_export_query(**filters), "slot__session__seat"))


def _bookings_rows(query: QuerySet[Booking]) -> Iterator[tuple]:
    rows = query.order_by("pk").values_list(
        "pk", "status", "source", "approval", "proven_at", "created_at", "cancelled_at", "slot_id",
        "slot__starts_at", "slot__ends_at", "slot__session_id", "slot__session__title", "slot__session__seat_id",
        "slot__session__seat__name", "slot__session__postcode_district", "volunteer_id", "volunteer__name",
        "volunteer__phone", "volunteer__anonymised_at")
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        erased = row[18] is not None
        yield (*row[:4], row[4] is not None, *row[5:16], row[16], "" if erased else mask_phone(row[17]))


def volunteers_export_query(*, consent_sms: bool | None = None, seat: str | None = None) -> QuerySet[Volunteer]:
    query = Volunteer.objects.all()
    if consent_sms is not None:
        query = query.filter(consent_sms=consent_sms)
    if seat:
        query = query.filter(seat_id=seat)
    return query.order_by("pk")


def volunteers_export_rows(*, actor, selection: QuerySet[Volunteer] | None = None, scope: SeatScope = NATIONAL,
                           **filters) -> Iterator[tuple]:
    """Coordinators' volunteers export: masked numbers, no email, SMS consent with its time and wording version;
    audited as an export (with the volunteer ids of an admin `selection`). Only volunteers whose postcode is in
    the caller's seat scope."""
    if filters.get("seat"):
        scope.check_seat(filters["seat"])
    if selection is not None:
        _audit_export(actor=actor, export=VOLUNTEERS, filters={"selection": "admin"},
                      volunteer_ids=selection.values_list("pk", flat=True))
        return _volunteers_rows(selection)
    _audit_export(actor=actor, export=VOLUNTEERS, filters=filters)
    return _volunteers_rows(scope.filter(volunteers_export_query(**filters), "seat"))


def _volunteers_rows(query: QuerySet[Volunteer]) -> Iterator[tuple]:
    rows = query.order_by("pk").values_list(
        "pk", "name", "phone", "postcode", "seat_id", "consent_sms", "consent_sms_at", "consent_sms_version",
        "sms_opted_out", "phone_invalid", "phone_verified_at", "anonymised_at", "created_at")
    for pk, name, phone, *rest in rows.iterator(chunk_size=ITERATOR_CHUNK):
        erased = rest[-2] is not None
        yield (pk, name, "" if erased else mask_phone(phone), *rest)

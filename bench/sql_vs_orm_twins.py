"""The ORM twins of the statements bench/sql_vs_orm.py times (issue 23): for the notify statements the same rows,
the same claim semantics (a conditional UPDATE whose WHERE holds every condition on the row itself, so PostgreSQL
re-checks it after waiting on a racing worker's lock), written with the ORM; for the district lookup the same
Location. bench/request_cpu.py --district-twin serves the results page with the district's twin."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Q, prefetch_related_objects


def sms_claim_row(message_id: int, now, stale) -> tuple | None:
    """notify.sms.services.sending._claim_row: a conditional update, then the row and its related flags."""
    from notify.sms.models import SmsMessage

    Status, RANK = SmsMessage.Status, SmsMessage.RANK
    due = Q(status=Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if not SmsMessage.objects.filter(due | Q(status=Status.SENDING, send_started_at__lt=stale), pk=message_id).update(
            status=Status.SENDING, status_rank=RANK[Status.SENDING], send_started_at=now,
            attempts=F("attempts") + 1, updated_at=now):
        return None
    return SmsMessage.objects.filter(pk=message_id).values_list(
        "to", "body", "kind", "attempts", "volunteer_id", "version", "host_id", "send_by", "volunteer__sms_opted_out",
        "volunteer__phone_invalid", "volunteer__consent_sms", "booking__version", "challenge__sends",
        "host_proof__sends").first()


def host_text_record(*, booking, kind: str, version: int) -> int:
    """notify.sms.services.hosts.host_text_record: the host's choice read first as there (nearly always: none, and
    then nothing is rendered), then the places counted and the row created in a savepoint (the unique key says it
    was written already) where the service has one INSERT."""
    from core.languages import language_supported
    from notify.sms.models import HostSmsPreference, SmsMessage
    from notify.sms.segments import segments_count
    from notify.sms.services.hosts import PLACE_STATUSES, _enqueue_on_commit
    from notify.sms.texts import host_text
    from volunteers.models import Booking

    Status = SmsMessage.Status
    prefetch_related_objects([booking], "volunteer", "slot__session__meeting_point")  # loaded already, usually
    host_id = booking.slot.session.meeting_point.host_id
    wanted = (HostSmsPreference.objects.filter(host_id=host_id, texts=True, host__is_active=True).exclude(mobile="")
              .values_list("mobile", "sms_opted_out", "phone_invalid", "mobile_proven_at",
                           "host__host_standing__language").first())
    if wanted is None:
        return 0
    mobile, opted_out, invalid, proven_at, language = wanted
    taken = Booking.objects.filter(slot_id=booking.slot_id, status__in=PLACE_STATUSES).count()
    body = host_text(kind=kind, booking=booking, taken=taken, language=language_supported(language))
    count = segments_count(body)
    reason = ("opted_out" if opted_out else "phone_invalid" if invalid
              else "mobile_unproven" if proven_at is None else "")
    status = Status.SKIPPED if reason else Status.PENDING
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(
                host_id=host_id, booking=booking, kind=kind, version=version, to=mobile, body=body,
                encoding=count.encoding, segments=count.segments, status=status, status_rank=SmsMessage.RANK[status],
                skip_reason=reason)
    except IntegrityError:
        return 0
    _enqueue_on_commit([message.pk] if status == Status.PENDING else [])
    return 1


def district_locate(self, postcode: str):
    """seats.geocoding.LocalDistrictGeocoder.locate (a method: request_cpu swaps it in) with the ORM's filter(),
    the current set as a subquery as in the statement."""
    from seats.geocoding import Location
    from seats.models import PostcodeDistrict, current_boundary_set_code
    from seats.postcodes import outcode_of

    row = PostcodeDistrict.objects.filter(boundary_set=current_boundary_set_code(), outcode=outcode_of(postcode)
                                          ).values_list("lat", "lng", "seat_id").first()
    return None if row is None else Location(postcode, row[0], row[1], row[2], "district")

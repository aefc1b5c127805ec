"""Texts that are not about one booking's state: messages to everyone booked (notify.messaging) and "come again"
(the next session nearby, texted once when a host records that a volunteer came). Both wait for the morning in
quiet hours, and neither is stale when its booking changes; notify.consent's gate is asked when they are written
and again when they are claimed for sending (notify.sms.services.sending)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.db import insert_or_get
from core.languages import language_override
from notify.consent import CAMPAIGN, campaign_footer, may_send, purpose_of, withdraw_url
from notify.sms.models import SmsMessage
from notify.sms.segments import segments_count
from notify.sms.texts import text_render, text_when
from sessions.models import Slot
from sessions.selectors import sessions_near
from volunteers.models import Booking, BookingEvent, Volunteer

Kind = SmsMessage.Kind
Status = SmsMessage.Status
HELD_KINDS = frozenset({Kind.BROADCAST_SERVICE, Kind.BROADCAST_CAMPAIGN, Kind.COME_AGAIN})
UNVERSIONED_KINDS = HELD_KINDS
COME_AGAIN_VERSION = 0  # (booking, come_again, 0): once per booking, whatever its version


def campaign_skip_reason(*, kind: str, volunteer_id: int | None) -> str:
    """At the send: "no_campaign_consent" for a campaign kind to a volunteer without campaign consent now (it may
    have been withdrawn since the row was written, or a coordinator retried a skipped row); "untagged_kind" for a
    kind notify.consent does not know; else ""."""
    try:
        purpose = purpose_of("sms", kind)
    except KeyError:
        return "untagged_kind"
    if purpose != CAMPAIGN or volunteer_id is None:
        return ""
    consent = Volunteer.objects.filter(pk=volunteer_id).values_list("consent_campaign", flat=True).first()
    return "" if consent else "no_campaign_consent"


def next_session_nearby(*, booking: Booking) -> tuple[dict, dict] | None:
    """The nearest upcoming session (and its first slot with a free place) within the volunteer's travel limit,
    other than the one they came to; None if there is none."""
    volunteer = booking.volunteer
    radius = volunteer.max_travel_km or settings.DIRECT_BOOKING_TRAVEL_KM
    for session in sessions_near(lat=volunteer.lat, lng=volunteer.lng, radius_km=radius, limit=5):
        if session["id"] == booking.slot.session_id:
            continue
        for slot in session["slots"]:
            if slot["places_left"] > 0:
                return session, slot
    return None


def come_again_text(*, booking: Booking, session: dict, slot: dict) -> str:
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('volunteer:session', args=[session['id']])}"
    with language_override(booking.language):
        text = text_render("come_again", {
            "first_name": (booking.volunteer.name.split() or [""])[0], "title": session["title"],
            "when": text_when(Slot(starts_at=slot["starts_at"], ends_at=slot["ends_at"])), "link": link})
        return f"{text} {campaign_footer(withdraw_url=withdraw_url(booking.volunteer_id))}"


def come_again_record(*, booking: Booking) -> SmsMessage | None:
    """In the attendance's transaction: the "come again" text, once per booking, if the gate lets a campaign
    text through and a session nearby needs people; a refused one is written skipped, with the reason."""
    volunteer = booking.volunteer
    reason = may_send(volunteer, CAMPAIGN, "sms")
    body = ""
    if not reason:
        found = next_session_nearby(booking=booking)
        if found is None:
            return None
        body = come_again_text(booking=booking, session=found[0], slot=found[1])
    count = segments_count(body)
    status = Status.SKIPPED if reason else Status.PENDING
    message, created = insert_or_get(SmsMessage(
        booking=booking, kind=Kind.COME_AGAIN, version=COME_AGAIN_VERSION, volunteer=volunteer, to=volunteer.phone,
        body=body, encoding=count.encoding, segments=count.segments if body else 0, status=status,
        status_rank=SmsMessage.RANK[status], skip_reason=reason), unique_fields=("booking", "kind", "version"))
    if created and status == Status.PENDING:
        from notify.sms.services.outbox import message_enqueue

        transaction.on_commit(lambda: message_enqueue(message.pk))
    return message


def come_again_record_for_event(*, event: BookingEvent) -> SmsMessage | None:
    """Signal receiver body: a host recorded that the volunteer came (booking_attended)."""
    if event.kind != BookingEvent.Kind.ATTENDED:
        return None
    booking = Booking.objects.select_related("volunteer", "slot").get(pk=event.booking_id)
    if booking.slot.ends_at < timezone.now() - timedelta(days=7):
        return None  # attendance recorded long after: "come again" would be news from another week
    return come_again_record(booking=booking)

"""Texts a host's act causes (an address edit, a reschedule, a cancelled session, an approval or a refusal) carry the
host's own words: they go only to a phone that proved it holds the booking, and count in the number's daily limit.
A host can type any number into their own session's form, so otherwise they could text a stranger anything."""

from datetime import timedelta

import pytest
from django.db import transaction

from notify.sms import services
from notify.sms.models import SmsMessage
from sessions import services as session_services
from tests.factories import next_mobile
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.services import booking_approve, booking_refuse

pytestmark = pytest.mark.django_db


def _texts(booking, kind: str) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(booking=booking, kind=kind).order_by("id"))


@pytest.fixture
def two_booked(locmem_sms):
    """A slot with a proven place and one held by a request nobody proved (e.g. a host typing a stranger's number)."""
    slot = slot_make(address="27 Psalter Lane, Sheffield")
    proven = booking_make(slot=slot)
    stranger = booking_make(slot=slot, volunteer=volunteer_make(name="Sam Stranger"), proven=False)
    return slot, proven, stranger


def test_an_address_edit_texts_only_the_proven_phone(two_booked, locmem_sms):
    slot, proven, stranger = two_booked
    point = slot.session.meeting_point
    with transaction.atomic():
        session_services.meeting_point_update(user=point.host, meeting_point=point,
                                              address="Go to Call 0900 555 0 NOW")
    [moved] = _texts(proven, "venue_moved")
    assert moved.status != "skipped" and "0900" in moved.body
    [held] = _texts(stranger, "venue_moved")
    assert held.status == "skipped" and held.skip_reason == "unproven"
    assert stranger.volunteer.phone not in [sent["to"] for sent in locmem_sms]


def test_a_reschedule_and_a_cancelled_session_text_only_proven_phones(two_booked):
    slot, proven, stranger = two_booked
    host = slot.session.meeting_point.host
    with transaction.atomic():
        session_services.slot_reschedule(user=host, slot_id=slot.pk, starts_at=slot.starts_at + timedelta(hours=1),
                                         ends_at=slot.ends_at + timedelta(hours=1))
    assert _texts(proven, "slot_rescheduled")[0].status != "skipped"
    assert [(t.status, t.skip_reason) for t in _texts(stranger, "slot_rescheduled")] == [("skipped", "unproven")]
    with transaction.atomic():
        session_services.session_cancel(user=host, session_id=slot.session_id)
    assert _texts(proven, "session_cancelled")[0].status != "skipped"
    assert [(t.status, t.skip_reason) for t in _texts(stranger, "session_cancelled")] == [("skipped", "unproven")]


def test_an_approval_or_refusal_of_an_unproven_booking_texts_nobody(locmem_sms):
    slot = slot_make()
    slot.session.requires_approval = True
    slot.session.save(update_fields=["requires_approval"])
    host = slot.session.meeting_point.host
    mine = booking_make(slot=slot)
    approved = booking_make(slot=slot, volunteer=volunteer_make(), proven=False)
    refused = booking_make(slot=slot, volunteer=volunteer_make(), proven=False)
    booking_approve(user=host, session_id=slot.session_id, booking_id=mine.pk)
    booking_approve(user=host, session_id=slot.session_id, booking_id=approved.pk)
    booking_refuse(user=host, session_id=slot.session_id, booking_id=refused.pk)
    assert _texts(mine, "booking_approved")[0].status != "skipped"
    assert [t.skip_reason for t in _texts(approved, "booking_approved")] == ["unproven"]
    assert [t.skip_reason for t in _texts(refused, "booking_refused")] == ["unproven"]


def test_texts_a_host_causes_count_in_the_numbers_daily_limit(settings, daytime, monkeypatch, ratelimit_clock):
    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    monkeypatch.setattr("notify.sms.services.outbox.message_enqueue", lambda *a, **k: None)
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_phone_day": "2/d"}
    phone = next_mobile()
    volunteer = volunteer_make(phone=phone)
    slots = [slot_make(starts_in=timedelta(days=3 + n)) for n in range(3)]
    bookings = [booking_make(slot=slot, volunteer=volunteer) for slot in slots]
    for slot in slots:
        with transaction.atomic():
            session_services.slot_reschedule(user=slot.session.meeting_point.host, slot_id=slot.pk,
                                             starts_at=slot.starts_at + timedelta(hours=1),
                                             ends_at=slot.ends_at + timedelta(hours=1))
    texts = [_texts(booking, "slot_rescheduled")[0] for booking in bookings]
    assert [services.message_send(message_id=text.pk) for text in texts] == ["sent", "sent", "skipped"]
    assert SmsMessage.objects.get(pk=texts[-1].pk).skip_reason == "daily_limit"
    # A retried send of a counted row counts nothing more.
    assert services.message_send(message_id=texts[0].pk) == "not_due"


def test_a_promotion_a_host_can_cause_texts_only_a_proven_phone(locmem_sms, django_capture_on_commit_callbacks):
    from volunteers.services import booking_cancel

    slot = slot_make(capacity=1)
    decoy = booking_make(slot=slot)  # the host's own place, given up to promote whoever waits
    stranger = booking_make(slot=slot, volunteer=volunteer_make(name="Sam Stranger"), proven=False)
    assert stranger.status == "waitlisted"
    with django_capture_on_commit_callbacks(execute=True):  # the promotion runs after the cancellation's commit
        booking_cancel(manage_token=decoy.manage_token)
    [promoted] = _texts(stranger, "booking_promoted")
    assert (promoted.status, promoted.skip_reason) == ("skipped", "unproven")

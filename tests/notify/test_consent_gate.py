"""Compliant by construction (issue 25): every kind is tagged service or campaign in notify.consent, and a
campaign message never reaches someone with only service consent, whichever path tries: a broadcast marked as a
call to action (text and email), "come again" after attendance, an overflow redirect, and a coordinator's retry of
a refused row."""

from datetime import time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notify.consent import CAMPAIGN, PURPOSES, SERVICE, may_send, purpose_of
from notify.email.models import EmailMessage
from notify.messaging import message_send
from notify.messaging.audience import Audience
from notify.sms import services as sms
from notify.sms.models import SmsMessage
from tests.factories import UserFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.consent import CONSENT_CAMPAIGN_VERSION
from volunteers.models import Booking, Volunteer
from volunteers.services import booking_attendance_record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _daytime(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)  # never quiet


def service_only(**extra) -> Volunteer:
    return volunteer_make(email=f"v{Volunteer.objects.count()}@example.org", consent_email=True, **extra)


def campaigner(**extra) -> Volunteer:
    return service_only(consent_campaign=True, consent_campaign_at=timezone.now(),
                        consent_campaign_version=CONSENT_CAMPAIGN_VERSION, **extra)


def test_every_kind_of_every_channel_is_tagged_service_or_campaign():
    for channel, model in (("sms", SmsMessage), ("email", EmailMessage)):
        for kind in model.Kind.values:
            assert purpose_of(channel, kind) in (SERVICE, CAMPAIGN), (channel, kind)
    assert set(PURPOSES.values()) == {SERVICE, CAMPAIGN}
    with pytest.raises(KeyError):
        purpose_of("sms", "something_new")


@pytest.mark.parametrize(("flags", "channel", "reason"), [
    ({}, "sms", "no_campaign_consent"), ({}, "email", "no_campaign_consent"),
    ({"consent_campaign": True, "sms_opted_out": True}, "sms", "opted_out"),
    ({"consent_campaign": True, "email_opted_out_at": timezone.now()}, "email", "opted_out"),
    ({"consent_campaign": True, "consent_sms": False}, "sms", "no_consent"),
    ({"consent_campaign": True}, "sms", ""), ({"consent_campaign": True}, "email", ""),
])
def test_the_gate_lets_a_campaign_message_through_only_with_campaign_consent_and_the_channel(flags, channel, reason):
    volunteer = service_only(**flags)
    assert may_send(volunteer, CAMPAIGN, channel) == reason
    assert may_send(volunteer, SERVICE, channel) == ("" if reason == "no_campaign_consent" else reason)


def _came(*volunteers):
    """A slot that ended an hour ago, with these volunteers booked on it (booked before it started)."""
    came = slot_make(starts_in=timedelta(days=1))
    bookings = [booking_make(slot=came, volunteer=volunteer) for volunteer in volunteers]
    starts = timezone.now() - timedelta(hours=3)
    type(came).objects.filter(pk=came.pk).update(starts_at=starts, ends_at=starts + timedelta(hours=2))
    type(came.session).objects.filter(pk=came.session_id).update(starts_at=starts, ends_at=starts + timedelta(hours=2))
    return came, bookings


def _everyone_booked(*volunteers):
    slot = slot_make()
    for volunteer in volunteers:
        booking_make(slot=slot, volunteer=volunteer)
    return slot


def test_a_campaign_broadcast_reaches_only_campaign_consent_by_text_and_email(locmem_sms, mail_outbox):
    only, keen = service_only(name="Only Service"), campaigner(name="Keen Campaigner")
    slot = _everyone_booked(only, keen)
    locmem_sms.clear()
    mail_outbox.clear()
    broadcast = message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=CAMPAIGN,
                             body="Come to Saturday's big push too!")
    assert (broadcast.recipients, broadcast.reached, broadcast.texts, broadcast.emails) == (2, 1, 1, 1)
    assert [m["to"] for m in locmem_sms] == [keen.phone]
    assert [m.to for m in mail_outbox] == [[keen.email]]
    assert not SmsMessage.objects.filter(volunteer=only, broadcast=broadcast).exists()
    assert not EmailMessage.objects.filter(volunteer=only, broadcast=broadcast).exists()
    # The campaign text says who sent it and how to stop such messages.
    assert "From Frontroom" in locmem_sms[0]["body"] and "/c/c" in locmem_sms[0]["body"]


def test_a_service_broadcast_reaches_both_and_carries_no_campaign_footer(locmem_sms, mail_outbox):
    only, keen = service_only(), campaigner()
    slot = _everyone_booked(only, keen)
    locmem_sms.clear()
    mail_outbox.clear()
    message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=SERVICE,
                 body="We meet at the side door.")
    assert sorted(m["to"] for m in locmem_sms) == sorted([only.phone, keen.phone])
    assert all("/c/c" not in m["body"] for m in locmem_sms)
    assert len(mail_outbox) == 2


def test_come_again_goes_once_and_only_to_campaign_consent(locmem_sms):
    only, keen = service_only(), campaigner()
    came, bookings = _came(only, keen)
    next_one = slot_make(starts_in=timedelta(days=2), title="Next Saturday's session")
    locmem_sms.clear()
    host = came.session.meeting_point.host
    for booking in bookings:
        booking_attendance_record(user=host, session_id=came.session_id, booking_id=booking.pk, attended=True)
    # Recording it again (a correction and back) writes no second text.
    booking_attendance_record(user=host, session_id=came.session_id, booking_id=bookings[1].pk, attended=False)
    booking_attendance_record(user=host, session_id=came.session_id, booking_id=bookings[1].pk, attended=True)
    assert [m["to"] for m in locmem_sms] == [keen.phone]
    assert next_one.session.title[:20] in locmem_sms[0]["body"] and "/c/c" in locmem_sms[0]["body"]
    refused = SmsMessage.objects.get(booking=bookings[0], kind="come_again")
    assert (refused.status, refused.skip_reason) == ("skipped", "no_campaign_consent")
    assert SmsMessage.objects.filter(booking=bookings[1], kind="come_again").count() == 1


def test_a_retried_or_forced_campaign_row_is_refused_at_the_send(locmem_sms):
    """The gate is asked again when a row is claimed: a coordinator's retry of a refused row, or a row written
    pending by any path, never reaches someone without campaign consent (nor someone who withdrew it since)."""
    only = service_only()
    came, (booking,) = _came(only)
    slot_make(starts_in=timedelta(days=2))
    locmem_sms.clear()
    booking_attendance_record(user=came.session.meeting_point.host, session_id=came.session_id,
                              booking_id=booking.pk, attended=True)
    refused = SmsMessage.objects.get(booking=booking, kind="come_again")
    SmsMessage.objects.filter(pk=refused.pk).update(body="Come again!", segments=1, encoding="GSM-7")
    assert sms.message_retry(message_id=refused.pk)
    refused.refresh_from_db()
    assert (refused.status, refused.skip_reason) == ("skipped", "no_campaign_consent")
    # Written pending for someone with consent, withdrawn before the send: refused then too.
    keen = campaigner()
    slot = _everyone_booked(keen)
    locmem_sms.clear()
    with transaction.atomic():
        broadcast = message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=CAMPAIGN,
                                 body="Call to action")
        Volunteer.objects.filter(pk=keen.pk).update(consent_campaign=False)
    row = SmsMessage.objects.get(broadcast=broadcast)
    assert (row.status, row.skip_reason) == ("skipped", "no_campaign_consent")
    assert locmem_sms == []


def test_an_overflow_redirect_is_a_service_text_about_the_volunteers_own_booking(locmem_sms):
    """Decided (docs/consent.md): the waitlisted volunteer asked for a place and can decline the move, so the
    redirect is a service message; it carries no call to action's footer, and nothing campaign goes with it."""
    from dispatch.services.overflow import overflow_for_slot
    from tests.factories import seat_with_neighbour

    assert purpose_of("sms", "booking_redirected") == SERVICE
    full = slot_make(capacity=1)
    booking_make(slot=full)
    first, neighbour = seat_with_neighbour()
    full.session.seat = first
    full.session.save()
    room = slot_make(capacity=5)
    room.session.seat = neighbour
    room.session.save()
    only = service_only()
    locmem_sms.clear()
    waiting = booking_make(slot=full, volunteer=only)  # waitlisted; the overflow it triggers moves it
    assert waiting.status == Booking.Status.WAITLISTED
    overflow_for_slot(slot_id=full.pk)  # (again: nothing left to move)
    texts = [m["body"] for m in locmem_sms if m["to"] == only.phone]
    assert SmsMessage.objects.get(volunteer=only, kind="booking_redirected").status == "queued"
    assert len(texts) == 2 and "you're booked at a session nearby" in texts[1]  # waitlisted, then moved
    assert SmsMessage.objects.filter(volunteer=only, kind__in=["come_again", "broadcast_campaign"]).count() == 0
    assert all("/c/c" not in body for body in texts)

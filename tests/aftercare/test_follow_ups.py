"""The follow-up after a slot (notify.followups): a text (and an email if chosen) an hour after the slot ends, once
per proven booking, held through quiet hours; "1".."5" replies rate the slot; the host is emailed the report link."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from notify.email.models import EmailMessage
from notify.email.services import follow_ups_enqueue_due as email_follow_ups
from notify.email.services.host_reports import host_reports_enqueue_due
from notify.sms.models import SmsMessage
from notify.sms.services import follow_ups_enqueue_due, inbound_handle
from tests.aftercare.helpers import booked_slot
from tests.email.conftest import emailable
from tests.factories import HostStandingFactory
from tests.sms.factories import booking_make, slot_make
from volunteers import aftercare
from volunteers.models import Booking, Feedback

pytestmark = pytest.mark.django_db(transaction=True)

FOLLOW_UP = SmsMessage.Kind.FOLLOW_UP


def _daytime(moment: datetime) -> datetime:
    """`moment` moved to 14:00 local on its day: away from quiet hours whatever time the suite runs at."""
    local = timezone.localtime(moment)
    return timezone.make_aware(datetime.combine(local.date(), time(14, 0)))


def test_the_follow_up_is_due_an_hour_after_the_slot_ends_and_written_once(locmem_sms, never_quiet):
    slot, bookings = booked_slot(people=3)
    ended = slot.ends_at
    assert follow_ups_enqueue_due(now=ended + timedelta(minutes=59)) == 0
    assert follow_ups_enqueue_due(now=ended + timedelta(minutes=60)) == 3
    assert follow_ups_enqueue_due(now=ended + timedelta(minutes=65)) == 0
    # Sent (eager Celery): one text each, with the private feedback link.
    texts = [message for message in locmem_sms if "/after" in message["body"]]
    assert len(texts) == 3
    assert {b.manage_token for b in bookings} == {m["body"].rsplit("/b/", 1)[1].split("/")[0] for m in texts}
    assert set(SmsMessage.objects.filter(kind=FOLLOW_UP).values_list("status", flat=True)) == {"queued"}


def test_no_follow_up_for_unproven_cancelled_or_waitlisted_places_nor_long_ago(locmem_sms, never_quiet, settings):
    slot, (kept, cancelled, waiting, unproven) = booked_slot(people=4)
    Booking.objects.filter(pk=cancelled.pk).update(status=Booking.Status.CANCELLED)
    Booking.objects.filter(pk=waiting.pk).update(status=Booking.Status.WAITLISTED)
    Booking.objects.filter(pk=unproven.pk).update(proven_at=None)
    assert follow_ups_enqueue_due(now=slot.ends_at + timedelta(hours=1)) == 1
    assert list(SmsMessage.objects.filter(kind=FOLLOW_UP).values_list("booking_id", flat=True)) == [kept.pk]
    old, _ = booked_slot(people=1)
    late = old.ends_at + timedelta(hours=settings.FOLLOW_UP_WINDOW_HOURS + 2)
    assert follow_ups_enqueue_due(now=late) == 0


def test_the_host_marking_attendance_does_not_stop_the_follow_up(locmem_sms, never_quiet):
    from volunteers.services import booking_attendance_record

    slot, (booking,) = booked_slot(people=1)
    with_now = slot.ends_at + timedelta(hours=1)
    follow_ups_enqueue_due(now=with_now)  # written for the booking at its version then; sent at once (eager)
    slot2, (marked,) = booked_slot(people=1, ended_ago=timedelta(minutes=30))
    booking_attendance_record(user=slot2.session.meeting_point.host, session_id=slot2.session_id,
                              booking_id=marked.pk, attended=True)
    assert follow_ups_enqueue_due(now=timezone.now() + timedelta(minutes=31)) == 1
    assert SmsMessage.objects.get(booking=marked, kind=FOLLOW_UP).status == "queued"  # accepted, not skipped


def test_follow_ups_wait_through_quiet_hours_and_go_in_the_morning(locmem_sms, settings):
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(21, 0), time(8, 0)
    slot, _ = booked_slot(people=2)
    night = timezone.make_aware(datetime.combine(timezone.localtime(slot.ends_at).date() + timedelta(days=1),
                                                 time(22, 30)))
    assert follow_ups_enqueue_due(now=night) == 0
    morning = timezone.make_aware(datetime.combine(timezone.localdate(night) + timedelta(days=1), time(8, 5)))
    settings.FOLLOW_UP_WINDOW_HOURS = 72
    assert follow_ups_enqueue_due(now=morning) == 2


def test_a_follow_up_retried_into_the_night_is_held_until_the_morning(settings, locmem_sms):
    from unittest import mock

    from notify.sms.services import message_send

    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59)  # always quiet now
    slot, (booking,) = booked_slot(people=1)
    with mock.patch("notify.sms.services.followups.in_quiet_hours", return_value=False), \
            mock.patch("notify.sms.services.outbox.message_enqueue"), \
            mock.patch("notify.sms.services.outbox.messages_enqueue_batches"):
        follow_ups_enqueue_due(now=slot.ends_at + timedelta(hours=1))
    message = SmsMessage.objects.get(kind=FOLLOW_UP)
    assert message_send(message_id=message.pk) == "deferred"
    message.refresh_from_db()
    assert message.status == "pending" and message.next_attempt_at > timezone.now()
    assert not [text for text in locmem_sms if "/after" in text["body"]]


def test_a_rating_texted_back_rates_the_latest_followed_up_slot(locmem_sms, never_quiet):
    slot, (booking,) = booked_slot(people=1, ended_ago=timedelta(hours=2))
    follow_ups_enqueue_due()
    SmsMessage.objects.filter(kind=FOLLOW_UP).update(status="delivered", twilio_sid="SM" + "1" * 32)
    reply = inbound_handle(from_phone=booking.volunteer.phone, body=" 4 ")
    assert "4/5" in reply and "/after" in reply
    assert Feedback.objects.get(booking=booking).rating == 4
    assert Feedback.objects.get(booking=booking).source == "sms"
    inbound_handle(from_phone=booking.volunteer.phone, body="5")
    assert Feedback.objects.get(booking=booking).rating == 5


def test_a_number_with_no_follow_up_gets_the_help_text_and_changes_nothing(locmem_sms, never_quiet):
    _, (booking,) = booked_slot(people=1, ended_ago=timedelta(hours=2))  # no follow-up sent yet
    reply = inbound_handle(from_phone=booking.volunteer.phone, body="5")
    assert "WHERE" in reply
    assert inbound_handle(from_phone="+447700999999", body="3") is not None
    assert not Feedback.objects.exists()
    for word in ("6", "0", "10"):  # not ratings: the help text
        assert "WHERE" in inbound_handle(from_phone=booking.volunteer.phone, body=word)


def test_the_existing_keywords_still_work_beside_the_ratings(locmem_sms, never_quiet):
    slot = slot_make()
    booking = booking_make(slot=slot)
    assert "confirmed" in inbound_handle(from_phone=booking.volunteer.phone, body="ok").lower()


def test_the_follow_up_email_goes_once_to_those_who_chose_email(mail_outbox, locmem_sms, never_quiet):
    slot = slot_make()
    emailed = booking_make(slot=slot, volunteer=emailable())
    booking_make(slot=slot)  # texted only
    from tests.aftercare.helpers import slot_move

    slot_move(slot, starts_at=timezone.now() - timedelta(hours=3), hours=2)
    mail_outbox.clear()
    assert email_follow_ups() == 1
    assert email_follow_ups() == 0
    (message,) = [m for m in mail_outbox if "/after" in m.body]
    assert message.to == [emailed.volunteer.email] and f"/b/{emailed.manage_token}/after" in message.body
    assert EmailMessage.objects.get(kind="follow_up").status == "sent"


def test_the_host_is_emailed_the_report_link_once_per_session(mail_outbox, locmem_sms, never_quiet):
    slot, _ = booked_slot(people=2)
    host = slot.session.meeting_point.host
    host.email = "aisha@example.org"
    host.save(update_fields=["email"])
    HostStandingFactory(host=host, email_verified=host.email)
    mail_outbox.clear()
    after = slot.session.ends_at + timedelta(hours=1)
    assert host_reports_enqueue_due(now=after - timedelta(minutes=1)) == 0
    assert host_reports_enqueue_due(now=after) == 1
    assert host_reports_enqueue_due(now=after + timedelta(minutes=5)) == 0
    (message,) = [m for m in mail_outbox if m.to == ["aisha@example.org"]]
    token = message.body.split("/r/", 1)[1].split("/", 1)[0]
    assert aftercare.session_for_report_token(token) == slot.session


def test_an_unverified_hosts_address_gets_no_report_link(mail_outbox, locmem_sms, never_quiet):
    slot, _ = booked_slot(people=1)
    host = slot.session.meeting_point.host
    host.email = "stranger@example.org"
    host.save(update_fields=["email"])
    assert host_reports_enqueue_due(now=slot.session.ends_at + timedelta(hours=1)) == 0


@pytest.mark.parametrize("language", ["en-gb", "cy"])
def test_the_follow_up_and_its_thanks_stay_within_two_gsm7_segments(language, locmem_sms):
    from notify.sms.segments import segments_count
    from notify.sms.texts import booking_render, booking_text
    from tests.sms.factories import volunteer_make

    slot = slot_make(title="Saturday morning doorstep session \u2013 Crookes, Walkley & Upperthorpe (bring a friend!)")
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Anne-Marie \u00d3 S\u00failleabh\u00e1in"))
    Booking.objects.filter(pk=booking.pk).update(language=language)
    booking.refresh_from_db()
    for text in (booking_text(kind="follow_up", booking=booking), booking_render("reply_rating", booking, rating=5)):
        count = segments_count(text)
        assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)
        assert f"/b/{booking.manage_token}/after" in text
